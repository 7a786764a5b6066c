// The one error handler: every failure becomes application/problem+json (RFC 9457). A client's
// mistake a library raised keeps its 4xx status; anything else unexpected is a 500, logged and reported.
import { trace } from '@opentelemetry/api';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '../observability/logger.ts';
import type { SecurityEvents } from '../observability/security-events.ts';
import { fieldErrors, HttpProblem, PROBLEM_CONTENT_TYPE, problems } from './errors.ts';

/** The http-errors `type` json-body.ts gives a body that is not valid UTF-8. */
export const TEXT_INVALID_TYPE = 'text.invalid';

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

/** The problem of an error body-parser or raw-body raised, by its http-errors `type`. */
function bodyParserProblem(e: LibraryError, events: SecurityEvents): HttpProblem | undefined {
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
  return undefined;
}

/**
 * Maps an error a library raised for a client's mistake to its problem, and records the security
 * event; undefined for anything else (ours: a 5xx). Never logs above warn, never reports to Sentry.
 */
function clientProblem(err: unknown, events: SecurityEvents): HttpProblem | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as LibraryError;
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
  const problem = bodyParserProblem(e, events);
  if (problem) return problem;
  if (isDecompressionError(e.code)) {
    events.record('malformed_body', { reason: 'decompression' });
    return problems.malformedBody('The body could not be decompressed with its Content-Encoding.');
  }
  events.record('invalid_input', { reason: typeof e.type === 'string' ? e.type : `status_${status}` });
  return problems.clientError(status);
}

function sendProblem(res: Parameters<RequestHandler>[1], problem: HttpProblem, instance: string): void {
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
        : (clientProblem(err, deps.securityEvents) ?? internalError(err, deps, req.originalUrl));
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
