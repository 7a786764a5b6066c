// Typed application errors and the single handler that turns every failure into application/problem+json (RFC 9457).
import { STATUS_CODES } from 'node:http';
import { trace } from '@opentelemetry/api';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { z } from 'zod';
import type { Logger } from './logger.ts';
import type { SecurityEvents } from './security-events.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
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
  malformedBody: () =>
    new HttpProblem(400, {
      type: 'malformed-body',
      title: 'Malformed request body',
      detail: 'The body is not valid JSON.',
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

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
  readonly limit?: number;
}

// body-parser signals its failures with a `type` string; map them to problems and security events.
function fromBodyParser(err: BodyParserError, deps: ErrorHandlerDeps): HttpProblem | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      deps.securityEvents.record('malformed_body');
      return problems.malformedBody();
    case 'entity.too.large':
      deps.securityEvents.record('body_too_large', { limit: err.limit });
      return problems.bodyTooLarge(err.limit ?? 0);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      deps.securityEvents.record('unsupported_media_type', { reason: err.type });
      return new HttpProblem(415, {
        type: 'unsupported-media-type',
        detail: 'Unsupported content encoding or charset.',
      });
    default:
      return undefined;
  }
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
        : (fromBodyParser((err ?? {}) as BodyParserError, deps) ?? internalError(err, deps, req.originalUrl));
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
