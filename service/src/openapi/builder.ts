// Building blocks of the OpenAPI 3.1 document (service/src/openapi/document.ts): JSON Schema from zod's own
// z.toJSONSchema, the problem types, and the responses the layers in front of an operation add.
// Why not zod-openapi: docs/decisions.md, "OpenAPI from zod".
import { z } from 'zod';

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

/** Every problem `type` the service sends (docs/contract.md, "Errors"), by status. */
export const PROBLEM_TYPES = {
  'about:blank': {
    statuses: [404, 409, 500],
    when: 'the status says it all (not found, conflict, internal error)',
  },
  '/problems/validation-error': {
    statuses: [400],
    when: 'body, query or path failed validation',
    errors: true,
  },
  '/problems/malformed-body': { statuses: [400], when: 'the body is not valid JSON or ended early' },
  '/problems/invalid-text': {
    statuses: [400],
    when: 'text is not well-formed Unicode or has control characters',
    errors: true,
  },
  '/problems/bad-path-encoding': { statuses: [400], when: 'the path has a malformed percent-escape' },
  '/problems/malformed-request': {
    statuses: [400, 413],
    when: 'not valid HTTP/1.1 (e.g. no Host), or chunk extensions too large',
  },
  '/problems/headers-too-large': { statuses: [431], when: 'the request head exceeds HTTP_MAX_HEADER_BYTES' },
  '/problems/request-timeout': {
    statuses: [408],
    when: 'the request was not received within the HTTP timeouts',
  },
  '/problems/client-error': { statuses: [400], when: 'another client error a library raised' },
  '/problems/method-not-allowed': { statuses: [405], when: 'a CONNECT request (this is no proxy)' },
  '/problems/unauthorized': { statuses: [401], when: 'missing or invalid bearer token' },
  '/problems/forbidden': { statuses: [403], when: 'valid token, not allowed here' },
  '/problems/body-too-large': { statuses: [413], when: 'body over BODY_LIMIT_BYTES' },
  '/problems/unsupported-media-type': {
    statuses: [415],
    when: 'write body is not application/json in UTF-8',
  },
  '/problems/unsupported-encoding': {
    statuses: [415],
    when: 'a Content-Encoding other than identity, gzip, deflate, br, zstd',
  },
  '/problems/expectation-failed': { statuses: [417], when: 'an Expect header other than 100-continue' },
  '/problems/rate-limited': { statuses: [429], when: 'a rate-limit tier is exhausted' },
  '/problems/rate-limiter-unavailable': { statuses: [503], when: 'admin route while Redis is unreachable' },
  '/problems/dependency-unavailable': { statuses: [503], when: 'the database is unavailable or too slow' },
} as const satisfies Record<string, { statuses: readonly number[]; when: string; errors?: boolean }>;

export type ProblemType = keyof typeof PROBLEM_TYPES;
const short = (t: string) => (t === 'about:blank' ? t : t.slice('/problems/'.length));
/** The problems an operation may answer beyond what its traits imply, by short name. */
export type ExtraProblem = 'validation-error' | 'not-found' | 'conflict' | 'dependency-unavailable';

/** A problem type a component declares (its `problems`), to name in an operation's traits too. */
export interface OwnProblemType {
  readonly type: `/problems/${string}`;
  readonly statuses: readonly number[];
  readonly when: string;
}

/** Declares a component's own problem type: `new HttpProblem(status, { type: name })` sends it. */
export const problemType = (
  name: string,
  spec: { readonly statuses: readonly number[]; readonly when: string },
): OwnProblemType => ({ type: `/problems/${name}`, ...spec });

export type Tier = 'general' | 'api' | 'admin';

/** What stands in front of an operation; each implies responses and headers. */
export interface Traits {
  /** Rate-limit tiers that count the request (none: the probes, the document itself). */
  readonly tiers: readonly Tier[];
  /** Bearer token required: an API token (the admin token also works) or the admin token. */
  readonly auth?: 'api' | 'admin';
  /** A JSON request body goes through the body parser. */
  readonly body?: boolean;
  readonly problems?: readonly (ExtraProblem | OwnProblemType)[];
}

const ALWAYS: readonly ProblemType[] = [
  'about:blank',
  '/problems/malformed-request',
  '/problems/bad-path-encoding',
  '/problems/client-error',
  '/problems/expectation-failed',
  '/problems/headers-too-large',
  '/problems/request-timeout',
];
const EXTRA: Record<ExtraProblem, ProblemType> = {
  'validation-error': '/problems/validation-error',
  'not-found': 'about:blank',
  conflict: 'about:blank',
  'dependency-unavailable': '/problems/dependency-unavailable',
};

const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
// Answered before the rate limiter ran (request conformance), or on any failure: RateLimit headers
// may be absent there.
const BEFORE_LIMITS = new Set([400, 408, 413, 417, 431, 500, 503]);

function problemsOf(traits: Traits): ProblemType[] {
  const types = new Set<ProblemType>(ALWAYS);
  // Declared as a union with the platform's keys: operation() reads statuses through statusesOf.
  if (traits.tiers.length > 0) types.add('/problems/rate-limited');
  if (traits.tiers.includes('admin')) types.add('/problems/rate-limiter-unavailable');
  if (traits.auth) {
    types.add('/problems/unauthorized');
    types.add('/problems/forbidden');
  }
  if (traits.body)
    for (const t of [
      '/problems/malformed-body',
      '/problems/invalid-text',
      '/problems/body-too-large',
      '/problems/unsupported-media-type',
      '/problems/unsupported-encoding',
    ] as const)
      types.add(t);
  for (const p of traits.problems ?? []) if (typeof p === 'string') types.add(EXTRA[p]);
  return [...types];
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
  const byStatus = new Map<number, string[]>();
  const add = (type: string, status: number) => byStatus.set(status, [...(byStatus.get(status) ?? []), type]);
  for (const type of problemsOf(traits))
    for (const status of PROBLEM_TYPES[type].statuses) {
      // about:blank covers 404 and 409 only where the operation says so.
      if (type === 'about:blank' && status === 404 && !traits.problems?.includes('not-found')) continue;
      if (type === 'about:blank' && status === 409 && !traits.problems?.includes('conflict')) continue;
      add(type, status);
    }
  for (const p of traits.problems ?? [])
    if (typeof p !== 'string') for (const status of p.statuses) add(p.type, status);
  const responses: Record<string, object> = {};
  for (const [status, response] of Object.entries(op.responses))
    responses[status] = {
      ...response,
      headers: { ...commonHeaders(traits, Number(status)), ...response.headers },
    };
  for (const [status, types] of [...byStatus].sort(([a], [b]) => a - b)) {
    const extra: Record<string, object> = {};
    if (status === 401) extra['WWW-Authenticate'] = header('WWW-Authenticate');
    if (status === 429) extra['Retry-After'] = header('Retry-After');
    if (status === 503) extra['Retry-After'] = header('Retry-After-If-Unavailable');
    responses[String(status)] = {
      description: `Problem (RFC 9457), type ${types.map((t) => `\`${short(t)}\``).join(', ')}.`,
      headers: { ...commonHeaders(traits, status), ...extra },
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
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
    ...Object.entries(PROBLEM_TYPES).map(([t, spec]) => [t, spec.when] as const),
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
