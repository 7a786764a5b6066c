// The error every layer throws for an answer it means (HttpProblem), and the factories of the
// platform's problems; handler.ts turns it into application/problem+json (RFC 9457).
import { STATUS_CODES } from 'node:http';
import type { z } from 'zod';
import { PROBLEM_TYPES, type ProblemSlug, problemTitle } from './problem-types.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const PROBLEM_BASE = '/problems/';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export interface ProblemInit {
  /** The short name (`validation-error`); absent, about:blank. */
  readonly type?: string;
  /** Absent: the catalogue's title for the type (problem-types.ts), else the status's reason phrase. */
  readonly title?: string;
  readonly detail?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class HttpProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(status: number, init: ProblemInit = {}) {
    super(init.detail ?? STATUS_CODES[status] ?? 'Error', { cause: init.cause });
    this.name = 'HttpProblem';
    this.status = status;
    this.type = init.type ? `${PROBLEM_BASE}${init.type}` : 'about:blank';
    this.title = init.title ?? problemTitle(init.type, status);
    this.detail = init.detail;
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }
}

/** A problem of a platform type, sent with the type's (first) status unless `status` says otherwise. */
const platform = (
  type: Exclude<ProblemSlug, 'about:blank'>,
  init: Omit<ProblemInit, 'type' | 'title'>,
  status: number = PROBLEM_TYPES[type].statuses[0],
) => new HttpProblem(status, { ...init, type });

export const problems = {
  notFound: (detail?: string) => new HttpProblem(404, detail === undefined ? {} : { detail }),
  validation: (errors: readonly FieldError[], detail = 'The request has invalid fields.') =>
    platform('validation-error', { detail, extensions: { errors } }),
  malformedBody: (detail = 'The body is not valid JSON.') => platform('malformed-body', { detail }),
  badPathEncoding: () =>
    platform('bad-path-encoding', { detail: 'The path contains a malformed percent-escape.' }),
  /** A string that is not well-formed Unicode, has control characters, or a body that is not UTF-8. */
  invalidText: (errors: readonly FieldError[], detail = 'The request contains text that is not valid.') =>
    platform('invalid-text', { detail, ...(errors.length > 0 ? { extensions: { errors } } : {}) }),
  unsupportedEncoding: () =>
    platform('unsupported-encoding', {
      detail:
        'The body must be sent with Content-Encoding identity, gzip, deflate, br or zstd (one of them).',
    }),
  /** Not valid HTTP/1.1 although Node's parser let it through (request-conformance.ts). */
  malformedRequest: (detail: string) => platform('malformed-request', { detail }),
  expectationFailed: () =>
    platform('expectation-failed', { detail: 'The only expectation this server meets is 100-continue.' }),
  unsupportedCharset: () =>
    platform('unsupported-media-type', { detail: 'The request body must be application/json in UTF-8.' }),
  unsupportedMediaType: (expected: string) =>
    platform('unsupported-media-type', { detail: `The request body must be ${expected}.` }),
  bodyTooLarge: (limit: number) =>
    platform('body-too-large', { detail: `The request body exceeds ${limit} bytes.` }),
  unauthorized: (detail: string) =>
    platform('unauthorized', { detail, headers: { 'WWW-Authenticate': 'Bearer realm="api"' } }),
  forbidden: (detail: string) => platform('forbidden', { detail }),
  /** Another client error a library raised, with the library's status. */
  clientError: (status: number) => platform('client-error', {}, status),
  rateLimited: (tier: string, retryAfterSeconds: number) =>
    platform('rate-limited', {
      detail: `The ${tier} rate limit is exhausted; retry after ${retryAfterSeconds} s.`,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    }),
  rateLimiterUnavailable: (retryAfterSeconds: number) =>
    platform('rate-limiter-unavailable', {
      detail: 'Admin routes are closed while the shared rate-limit store is unreachable.',
      headers: { 'Retry-After': String(retryAfterSeconds) },
    }),
  dependencyUnavailable: (retryAfterSeconds: number, cause: unknown) =>
    platform('dependency-unavailable', {
      detail: 'The database is unavailable or did not answer in time; retry later.',
      headers: { 'Retry-After': String(retryAfterSeconds) },
      cause,
    }),
};

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((i) => {
    const at = i.path.map(String);
    // One entry per unknown field, named, rather than one entry for the enclosing object.
    if (i.code === 'unrecognized_keys')
      return i.keys.map((k) => ({ field: [...at, k].join('.'), message: 'unknown field' }));
    return [{ field: at.join('.') || '(body)', message: i.message }];
  });
}
