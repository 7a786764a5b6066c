// Sentry error reporting, on only with SENTRY_DSN. It joins the OpenTelemetry set-up rather than
// competing with it: no Sentry tracing, no Sentry HTTP wrapping, no per-request scope; events borrow
// the active OTel span ids, and the request's context is added when an error is reported.
// @see https://docs.sentry.io/platforms/javascript/guides/node/configuration/options/
import * as Sentry from '@sentry/node';
import type { ErrorContext } from '../observability/telemetry-handle.ts';

export interface SentryOptions {
  readonly dsn: string;
  readonly environment: string;
  readonly release: string;
}

// Whatever an integration or a future default puts there, these never leave the process.
function scrub<T extends Sentry.Event>(event: T): T {
  delete event.request;
  delete event.user;
  if (event.contexts) delete event.contexts.request;
  delete event.extra;
  return event;
}

export function startSentry(opts: SentryOptions): void {
  Sentry.init({
    dsn: opts.dsn,
    // Sentry would rewrite Express, its router, ioredis and pg as they load, so that they publish
    // diagnostics-channel events on every call for its tracing integrations; with none of those
    // here, that is work on every request for nobody.
    enableRuntimeChannelInjection: false,
    environment: opts.environment,
    release: opts.release,
    // Sentry 11 replaced sendDefaultPii with per-category switches: collect none of them.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
    },
    // An explicit list instead of the defaults: the defaults add request data (headers, cookies,
    // bodies, IPs), local variables (values of secrets in scope), console capture and Sentry's own
    // HTTP server/client wrapping, which would instrument every request a second time.
    defaultIntegrations: false,
    integrations: [
      Sentry.eventFiltersIntegration(),
      Sentry.functionToStringIntegration(),
      Sentry.linkedErrorsIntegration(),
      Sentry.dedupeIntegration(),
      Sentry.nodeContextIntegration(),
      Sentry.contextLinesIntegration(),
      Sentry.onUncaughtExceptionIntegration(),
      // 'strict' keeps Node's own behaviour (an unhandled rejection ends the process), reported first.
      Sentry.onUnhandledRejectionIntegration({ mode: 'strict' }),
      // Events carry the trace_id/span_id of the active OpenTelemetry span.
      Sentry.openTelemetryIntegration(),
    ],
    // No beforeSendTransaction: Sentry sends no transactions here (no tracesSampleRate; spans go
    // over OTLP), and with span streaming Sentry 11 warns that the hook is ignored.
    beforeSend: scrub,
  });
}

/** The request's context is set on a scope made for this event alone, when the error is reported. */
export const captureException = (err: unknown, context?: ErrorContext): void => {
  if (context === undefined) {
    Sentry.captureException(err);
    return;
  }
  Sentry.withScope((scope) => {
    scope.setTags(context.tags);
    for (const b of context.breadcrumbs)
      scope.addBreadcrumb({ type: 'default', level: 'warning', ...b, data: { ...b.data } });
    Sentry.captureException(err);
  });
};
export const flushSentry = async (timeoutMs: number): Promise<void> => {
  await Sentry.flush(timeoutMs);
};
export const closeSentry = async (timeoutMs: number): Promise<void> => {
  await Sentry.close(timeoutMs);
};
