// Typed application errors and the single handler that turns every failure into application/problem+json (RFC 9457).
import { STATUS_CODES } from 'node:http';
import { trace } from '@opentelemetry/api';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError, type z } from 'zod';
import type { Logger } from '../observability/logger.ts';
import type { SecurityEvents } from '../observability/security-events.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** The http-errors `type` json-body.ts gives a body that is not valid UTF-8. */
export const TEXT_INVALID_TYPE = 'text.invalid';
// Problem types are documented in docs/contract.md; "about:blank" means "the status code says it all".
const PROBLEM_BASE = '/problems/';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export interface ProblemInit {
  readonly type?: string;
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
    this.title = init.title ?? STATUS_CODES[status] ?? 'Error';
    this.detail = init.detail;
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }
}

export const problems = {
  notFound: (detail?: string) => new HttpProblem(404, detail === undefined ? {} : { detail }),
  validation: (errors: readonly FieldError[], detail = 'The request has invalid fields.') =>
    new HttpProblem(400, {
      type: 'validation-error',
      title: 'Invalid request',
      detail,
      extensions: { errors },
    }),
  malformedBody: (detail = 'The body is not valid JSON.') =>
    new HttpProblem(400, { type: 'malformed-body', title: 'Malformed request body', detail }),
  badPathEncoding: () =>
    new HttpProblem(400, {
      type: 'bad-path-encoding',
      title: 'Bad path encoding',
      detail: 'The path contains a malformed percent-escape.',
    }),
  /** A string that is not well-formed Unicode, has control characters, or a body that is not UTF-8. */
  invalidText: (errors: readonly FieldError[], detail = 'The request contains text that is not valid.') =>
    new HttpProblem(400, {
      type: 'invalid-text',
      title: 'Invalid text',
      detail,
      ...(errors.length > 0 ? { extensions: { errors } } : {}),
    }),
  unsupportedEncoding: () =>
    new HttpProblem(415, {
      type: 'unsupported-encoding',
      title: 'Unsupported Content-Encoding',
      detail:
        'The body must be sent with Content-Encoding identity, gzip, deflate, br or zstd (one of them).',
    }),
  /** Not valid HTTP/1.1 although Node's parser let it through (request-conformance.ts). */
  malformedRequest: (detail: string) =>
    new HttpProblem(400, { type: 'malformed-request', title: 'Malformed request', detail }),
  expectationFailed: () =>
    new HttpProblem(417, {
      type: 'expectation-failed',
      title: 'Expectation Failed',
      detail: 'The only expectation this server meets is 100-continue.',
    }),
  unsupportedCharset: () =>
    new HttpProblem(415, {
      type: 'unsupported-media-type',
      title: 'Unsupported Media Type',
      detail: 'The request body must be application/json in UTF-8.',
    }),
  unsupportedMediaType: (expected: string) =>
    new HttpProblem(415, {
      type: 'unsupported-media-type',
      title: 'Unsupported Media Type',
      detail: `The request body must be ${expected}.`,
    }),
  bodyTooLarge: (limit: number) =>
    new HttpProblem(413, {
      type: 'body-too-large',
      title: 'Payload Too Large',
      detail: `The request body exceeds ${limit} bytes.`,
    }),
  unauthorized: (detail: string) =>
    new HttpProblem(401, {
      type: 'unauthorized',
      detail,
      headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
    }),
  forbidden: (detail: string) => new HttpProblem(403, { type: 'forbidden', detail }),
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

export interface ErrorHandlerDeps {
  readonly logger: Logger;
  readonly securityEvents: SecurityEvents;
  readonly exposeInternalErrors: boolean;
  /** Called for every unexpected (5xx) error, e.g. to report it to Sentry. */
  readonly onUnexpectedError?: (err: unknown) => void;
}

// What libraries attach to the errors they raise for a client's mistake: http-errors (body-parser,
// raw-body) set `status`/`statusCode` and, for body-parser, a `type`; the router sets `status: 400`
// on the URIError of a malformed percent-escape; zlib sets `code` on a corrupt compressed stream.
interface LibraryError {
  readonly type?: unknown;
  readonly status?: unknown;
  readonly statusCode?: unknown;
  readonly code?: unknown;
  readonly limit?: unknown;
  readonly encoding?: unknown;
  readonly charset?: unknown;
}

// Decompression failures surface from raw-body as a 400 with zlib's code and no body-parser type.
// zlib (Z_DATA_ERROR, Z_BUF_ERROR), brotli (ERR__ERROR_FORMAT_…, ERR_BROTLI_…) and zstd (ZSTD_error_…)
// codes, as raw-body passes a decompression stream's error on.
const isDecompressionError = (code: unknown) =>
  typeof code === 'string' && /^(Z_|ERR_BROTLI|ERR__|ZSTD_|ERR_ZSTD)/.test(code);

const clientStatus = (e: LibraryError): number | undefined => {
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500
    ? status
    : undefined;
};

/**
 * Maps an error a library raised for a client's mistake to its problem, and records the security
 * event; undefined for anything else (ours: a 5xx). Never logs above warn, never reports to Sentry.
 */
export function clientProblem(
  err: unknown,
  deps: Pick<ErrorHandlerDeps, 'securityEvents'>,
): HttpProblem | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as LibraryError;
  const events = deps.securityEvents;
  if (err instanceof ZodError) {
    events.record('validation_failed', { where: 'unknown' });
    return problems.validation(fieldErrors(err));
  }
  const status = clientStatus(e);
  if (status === undefined) return undefined;
  if (err instanceof URIError) {
    events.record('invalid_input', { reason: 'bad_path_encoding' });
    return problems.badPathEncoding();
  }
  switch (e.type) {
    case 'entity.parse.failed':
      events.record('malformed_body', { reason: 'parse' });
      return problems.malformedBody();
    case 'entity.too.large': {
      const limit = typeof e.limit === 'number' ? e.limit : 0;
      events.record('body_too_large', { limit });
      return problems.bodyTooLarge(limit);
    }
    case 'encoding.unsupported':
      events.record('unsupported_media_type', { reason: e.type, encoding: String(e.encoding ?? '') });
      return problems.unsupportedEncoding();
    case 'charset.unsupported':
      events.record('unsupported_media_type', { reason: e.type, charset: String(e.charset ?? '') });
      return problems.unsupportedCharset();
    case TEXT_INVALID_TYPE:
      events.record('invalid_input', { reason: 'invalid_utf8' });
      return problems.invalidText([], 'The body is not valid UTF-8.');
    case 'request.aborted':
      // The client went away mid-body: nobody reads the answer, and it is no attack.
      return problems.malformedBody('The request body ended early.');
    case 'request.size.invalid':
      events.record('malformed_body', { reason: 'length_mismatch' });
      return problems.malformedBody('The body length does not match Content-Length.');
  }
  if (isDecompressionError(e.code)) {
    events.record('malformed_body', { reason: 'decompression' });
    return problems.malformedBody('The body could not be decompressed with its Content-Encoding.');
  }
  events.record('invalid_input', { reason: typeof e.type === 'string' ? e.type : `status_${status}` });
  return new HttpProblem(status, { type: 'client-error' });
}

export function sendProblem(
  res: Parameters<RequestHandler>[1],
  problem: HttpProblem,
  instance: string,
): void {
  const traceId = trace.getActiveSpan()?.spanContext().traceId;
  const body: Record<string, unknown> = {
    type: problem.type,
    title: problem.title,
    status: problem.status,
    ...(problem.detail === undefined ? {} : { detail: problem.detail }),
    instance,
    ...problem.extensions,
    ...(traceId && traceId !== '00000000000000000000000000000000' ? { traceId } : {}),
  };
  res.status(problem.status).set(problem.headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(problems.notFound(`No route for ${req.method} ${req.path}.`));
}

export function problemHandler(deps: ErrorHandlerDeps): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const problem =
      err instanceof HttpProblem
        ? err
        : (clientProblem(err, deps) ?? internalError(err, deps, req.originalUrl));
    sendProblem(res, problem, req.originalUrl.split('?')[0] ?? '/');
  };
}

function internalError(err: unknown, deps: ErrorHandlerDeps, url: string): HttpProblem {
  deps.logger.error({ err, url: url.split('?')[0] }, 'unexpected error');
  deps.onUnexpectedError?.(err);
  const detail =
    deps.exposeInternalErrors && err instanceof Error ? err.message : 'An unexpected error occurred.';
  return new HttpProblem(500, { detail });
}
