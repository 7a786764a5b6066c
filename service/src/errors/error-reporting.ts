// Unexpected errors go to Sentry (through the telemetry handle, a no-op when Sentry is off), with
// what identifies their request: put together when an error is reported, never on every request.
import { trace } from '@opentelemetry/api';
import type { ErrorRequestHandler, Request } from 'express';
import { routeTemplate } from '../observability/metrics/http-metrics.ts';
import { type ErrorContext, telemetryHandle } from '../observability/telemetry-handle.ts';

// The request an error left, kept from the moment it reaches the error handlers until it is reported.
const requests = new WeakMap<object, Request>();

/**
 * An error handler that only remembers which request `err` came from, for reportUnexpectedError.
 * It runs for failed requests alone; the problem handler after it answers them.
 */
export function rememberFailedRequest(): ErrorRequestHandler {
  return (err: unknown, req, _res, next) => {
    if (typeof err === 'object' && err !== null) requests.set(err, req);
    next(err);
  };
}

// Span events the SDK keeps on a recording span (ReadableSpan.events); a non-recording span has none.
interface SpanEvents {
  readonly events?: readonly { readonly name: string; readonly attributes?: Record<string, unknown> }[];
}

/**
 * Reports `err`. Its request's id, route, method and path (never the query, headers or body) become
 * tags, and the security events recorded on the request's span become breadcrumbs: they belong to
 * this request alone, with no per-request Sentry scope to keep them apart.
 */
export function reportUnexpectedError(err: unknown): void {
  const telemetry = telemetryHandle();
  if (!telemetry.sentryEnabled) return;
  const req = typeof err === 'object' && err !== null ? requests.get(err) : undefined;
  const events = (trace.getActiveSpan() as SpanEvents | undefined)?.events ?? [];
  const context: ErrorContext = {
    tags: req
      ? {
          request_id: String(req.id),
          'http.route': routeTemplate(req),
          'http.request.method': req.method,
          'url.path': req.originalUrl.split('?')[0] ?? '/',
        }
      : {},
    breadcrumbs: events
      .filter((e) => e.name.startsWith('security.'))
      .map((e) => ({
        category: 'security',
        message: e.name.slice('security.'.length),
        data: e.attributes ?? {},
      })),
  };
  telemetry.captureException(err, context);
}
