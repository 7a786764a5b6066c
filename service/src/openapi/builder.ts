// Building blocks of the OpenAPI 3.1 document (service/src/openapi/document.ts): JSON Schema from zod's own
// z.toJSONSchema, the Problem schema from the catalogue (errors/problem-types.ts), and the responses
// the layers in front of an operation add.
// Why not zod-openapi: docs/decisions.md, "OpenAPI from zod".
import { z } from 'zod';
import {
  type OwnProblemType,
  PROBLEM_TYPES,
  type ProblemSlug,
  platformProblemTypes,
  problemTypeUri,
} from '../errors/problem-types.ts';
import type { TierName } from '../rate-limit/tiers.ts';

export type JsonSchema = Record<string, unknown>;
export type OpenApiPaths = Record<string, Record<string, object>>;

/**
 * JSON Schema of a zod schema, for requests as sent (`input`: before transforms and defaults) or
 * responses (`output`). Refinements (.refine, .superRefine) have no JSON Schema form and are left
 * out: the document says what a request must look like, the server may refuse more.
 */
export function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** A response or request body by reference to components.schemas. */
export const json = (ref: string) => ({
  'application/json': { schema: { $ref: `#/components/schemas/${ref}` } },
});

/** A required JSON request body, its schema from the zod schema that validates it. */
export const body = (schema: z.ZodType, description: string) => ({
  required: true,
  description,
  content: { 'application/json': { schema: schemaOf(schema, 'input') } },
});

/** Query parameters from the strict object schema that validates the query string. */
export function queryParameters(schema: z.ZodType): object[] {
  const s = schemaOf(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: s.required?.includes(name) ?? false,
    schema: property,
  }));
}

/** A path parameter (`{name}` in the path), from the zod schema that validates it. */
export const pathParameter = (name: string, schema: z.ZodType, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: schemaOf(schema, 'input'),
});

/** The problems an operation may answer beyond what its traits imply, by short name. */
export type ExtraProblem = 'validation-error' | 'not-found' | 'conflict' | 'dependency-unavailable';

/** What stands in front of an operation; each implies responses and headers. */
export interface Traits {
  /** Rate-limit tiers that count the request (none: the probes, the document itself). */
  readonly tiers: readonly TierName[];
  /** Bearer token required: an API token (the admin token also works) or the admin token. */
  readonly auth?: 'api' | 'admin';
  /** A JSON request body goes through the body parser. */
  readonly body?: boolean;
  readonly problems?: readonly (ExtraProblem | OwnProblemType)[];
}

const ALWAYS: readonly ProblemSlug[] = [
  'about:blank',
  'malformed-request',
  'bad-path-encoding',
  'client-error',
  'expectation-failed',
  'headers-too-large',
  'request-timeout',
];
const OF_BODY: readonly ProblemSlug[] = [
  'malformed-body',
  'invalid-text',
  'body-too-large',
  'unsupported-media-type',
  'unsupported-encoding',
];
const EXTRA: Record<ExtraProblem, ProblemSlug> = {
  'validation-error': 'validation-error',
  'not-found': 'about:blank',
  conflict: 'about:blank',
  'dependency-unavailable': 'dependency-unavailable',
};

const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
// Answered before the rate limiter ran (request conformance), or on any failure: RateLimit headers
// may be absent there.
const BEFORE_LIMITS = new Set([400, 408, 413, 417, 431, 500, 503]);

function problemsOf(traits: Traits): ProblemSlug[] {
  const types = new Set<ProblemSlug>(ALWAYS);
  if (traits.tiers.length > 0) types.add('rate-limited');
  if (traits.tiers.includes('admin')) types.add('rate-limiter-unavailable');
  if (traits.auth) {
    types.add('unauthorized');
    types.add('forbidden');
  }
  if (traits.body) for (const t of OF_BODY) types.add(t);
  for (const p of traits.problems ?? []) if (typeof p === 'string') types.add(EXTRA[p]);
  return [...types];
}

/** The short names of the problem types an operation may answer, by status. */
function problemsByStatus(traits: Traits): Map<number, string[]> {
  const byStatus = new Map<number, string[]>();
  const add = (name: string, status: number) => byStatus.set(status, [...(byStatus.get(status) ?? []), name]);
  for (const slug of problemsOf(traits))
    for (const status of PROBLEM_TYPES[slug].statuses) {
      // about:blank covers 404 and 409 only where the operation says so.
      if (slug === 'about:blank' && status === 404 && !traits.problems?.includes('not-found')) continue;
      if (slug === 'about:blank' && status === 409 && !traits.problems?.includes('conflict')) continue;
      add(slug, status);
    }
  for (const p of traits.problems ?? [])
    if (typeof p !== 'string')
      for (const status of p.statuses) add(p.type.slice('/problems/'.length), status);
  return byStatus;
}

/** Response headers every response of an operation carries. */
function commonHeaders(traits: Traits, status: number): Record<string, object> {
  if (traits.tiers.length === 0) return { 'X-Request-Id': header('X-Request-Id') };
  const counted = !BEFORE_LIMITS.has(status);
  return {
    'X-Request-Id': header('X-Request-Id'),
    RateLimit: header(counted ? 'RateLimit' : 'RateLimitIfCounted'),
    'RateLimit-Policy': header(counted ? 'RateLimit-Policy' : 'RateLimitPolicyIfCounted'),
  };
}

/** The problem+json response of `status`, naming the problem types it may carry. */
function problemResponse(traits: Traits, status: number, names: readonly string[]): object {
  const extra: Record<string, object> = {};
  if (status === 401) extra['WWW-Authenticate'] = header('WWW-Authenticate');
  if (status === 429) extra['Retry-After'] = header('Retry-After');
  if (status === 503) extra['Retry-After'] = header('Retry-After-If-Unavailable');
  return {
    description: `Problem (RFC 9457), type ${names.map((t) => `\`${t}\``).join(', ')}.`,
    headers: { ...commonHeaders(traits, status), ...extra },
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly parameters?: readonly object[];
  readonly requestBody?: object;
  readonly responses: Record<
    string,
    { description: string; headers?: Record<string, object>; content?: object }
  >;
}

/**
 * An operation with the responses its traits imply: one problem+json response per error status
 * (listing the problem types it may carry), the shared headers on every response, and its security.
 */
export function operation(traits: Traits, op: Operation): object {
  const responses: Record<string, object> = {};
  for (const [status, response] of Object.entries(op.responses))
    responses[status] = {
      ...response,
      headers: { ...commonHeaders(traits, Number(status)), ...response.headers },
    };
  for (const [status, names] of [...problemsByStatus(traits)].sort(([a], [b]) => a - b))
    responses[String(status)] = problemResponse(traits, status, names);
  const security =
    traits.auth === 'admin'
      ? [{ adminToken: [] }]
      : traits.auth === 'api'
        ? [{ apiToken: [] }, { adminToken: [] }]
        : [];
  return {
    ...op,
    responses,
    security,
    'x-rate-limit-tiers': traits.tiers,
  };
}

/** The RFC 9457 problem details object as the service writes it (errors/traceId: extension members). */
export function problemSchema(own: readonly OwnProblemType[] = []): JsonSchema {
  const when = new Map<string, string>([
    ...platformProblemTypes().map((p) => [problemTypeUri(p.slug), p.when] as const),
    ...own.map((p) => [p.type, p.when] as const),
  ]);
  const types = [...when.keys()];
  return {
    type: 'object',
    description:
      'RFC 9457 problem details. `type` is a relative URI (`/problems/<name>`) or `about:blank`; see docs/contract.md.',
    required: ['type', 'title', 'status', 'instance'],
    properties: {
      type: {
        type: 'string',
        enum: types,
        description: types.map((t) => `${t}: ${when.get(t)}`).join('; '),
      },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      instance: { type: 'string', description: 'The request path, without the query.' },
      traceId: {
        type: 'string',
        pattern: '^[0-9a-f]{32}$',
        description: 'The trace of the request, when traced.',
      },
      errors: {
        type: 'array',
        description: 'Only on validation-error and invalid-text: one entry per bad field.',
        items: {
          type: 'object',
          required: ['field', 'message'],
          properties: { field: { type: 'string' }, message: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
    additionalProperties: false,
  };
}

/** components.headers: the rate-limit headers (draft-ietf-httpapi-ratelimit-headers), request id, ... */
export function headerComponents(): Record<string, object> {
  const rateLimit = {
    description:
      'Remaining quota per tier that counted the request: `"general";r=<remaining>;t=<seconds to reset>`, one item per tier.',
    schema: { type: 'string', pattern: '^"[a-z]+";r=\\d+;t=\\d+(, "[a-z]+";r=\\d+;t=\\d+)*$' },
  };
  const policy = {
    description:
      'The quota policy of each tier that counted the request: `"general";q=100;w=900`, one item per tier.',
    schema: { type: 'string', pattern: '^"[a-z]+";q=\\d+;w=\\d+(, "[a-z]+";q=\\d+;w=\\d+)*$' },
  };
  return {
    'X-Request-Id': {
      description:
        "The request id: the client's X-Request-Id when it matches [A-Za-z0-9._:@/+=-]{1,128}, else a new UUID.",
      required: true,
      schema: { type: 'string', pattern: '^[A-Za-z0-9._:@/+=-]{1,128}$' },
    },
    RateLimit: { ...rateLimit, required: true },
    'RateLimit-Policy': { ...policy, required: true },
    RateLimitIfCounted: {
      ...rateLimit,
      description: `${rateLimit.description} Absent when the request was refused before the limiter counted it.`,
    },
    RateLimitPolicyIfCounted: {
      ...policy,
      description: `${policy.description} Absent when the request was refused before the limiter counted it.`,
    },
    'Retry-After': {
      description: 'Whole seconds until the exhausted tier resets.',
      required: true,
      schema: { type: 'string', pattern: '^\\d+$' },
    },
    'Retry-After-If-Unavailable': {
      description: 'Whole seconds to wait (5) when the rate-limit store or the database is unavailable.',
      schema: { type: 'string', pattern: '^\\d+$' },
    },
    'WWW-Authenticate': {
      description: 'The bearer challenge.',
      required: true,
      schema: { type: 'string', pattern: '^Bearer' },
    },
    Location: {
      description: 'The path of the created resource.',
      required: true,
      schema: { type: 'string' },
    },
  };
}
