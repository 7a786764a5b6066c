// RED metrics per request: http_server_request_duration_seconds (with a trace exemplar) and
// http_server_active_requests. Labels are bounded: known methods or _OTHER, route templates or "unmatched".
import { TraceFlags, trace } from '@opentelemetry/api';
import type { Express, Request, RequestHandler } from 'express';
import { ATTR_EXEMPLAR, type ExemplarPolicy } from './exemplar-policy.ts';
import type { Metrics } from './metrics.ts';

export const UNMATCHED_ROUTE = 'unmatched';
export const OTHER_METHOD = '_OTHER';
// The methods the HTTP semantic conventions name; anything else would be a client-chosen label value.
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

export const methodLabel = (method: string | undefined): string =>
  method !== undefined && KNOWN_METHODS.has(method) ? method : OTHER_METHOD;

// Express knows a matched route only relative to its router (`/:id`), and restores req.baseUrl when
// an error leaves the router, so the full template cannot be read off the request at the end.
// Instead the app's router tree is walked once (again only if a route was added later) and each
// Route object is mapped to its full template. Express offers no public API for this; `stack`,
// `route` and `rawPath` are the fields every route-listing tool reads.
interface LayerLike {
  readonly route?: { readonly path?: unknown };
  readonly rawPath?: unknown;
  readonly handle?: { readonly stack?: readonly LayerLike[] };
}
const templates = new WeakMap<object, string>();
// `router.get('/')` under `/api/v1/items` is `/api/v1/items`, not `/api/v1/items/`.
const join = (prefix: string, path: string) => (path === '/' && prefix !== '' ? prefix : `${prefix}${path}`);

function index(stack: readonly LayerLike[] | undefined, prefix: string): void {
  for (const layer of stack ?? []) {
    if (layer.route) templates.set(layer.route, join(prefix, String(layer.route.path)));
    else if (layer.handle?.stack && typeof layer.rawPath === 'string' && layer.rawPath !== '/')
      index(layer.handle.stack, `${prefix}${layer.rawPath}`);
    else if (layer.handle?.stack) index(layer.handle.stack, prefix);
  }
}

/** The matched route template (`/api/v1/items/:id`), or "unmatched" when no route handled the request. */
export function routeTemplate(req: Request): string {
  const route = req.route as { readonly path?: unknown } | undefined;
  if (!route) return UNMATCHED_ROUTE;
  let t = templates.get(route);
  if (t === undefined) {
    index((req.app as Express & { router?: { stack?: LayerLike[] } }).router?.stack, '');
    t = templates.get(route);
    if (t === undefined) {
      // Not reachable from the app's tree (mounted elsewhere): the relative path is still a template.
      t = String(route.path);
      templates.set(route, t);
    }
  }
  return t;
}

export function httpMetrics(metrics: Metrics, exemplars: ExemplarPolicy): RequestHandler {
  const { httpRequestDuration: duration, httpActiveRequests: active } = metrics;
  return (req, res, next) => {
    const start = performance.now();
    // The server span (Express layer spans are not active yet): its ids become the exemplar.
    const span = trace.getActiveSpan();
    active.inc();
    // Ahead of the server span's own 'close' listener (server-span.ts), which ends the span: the mark
    // that makes the gateway keep an exemplar's trace must be on the span before it ends.
    res.prependOnceListener('close', () => {
      active.dec();
      const seconds = (performance.now() - start) / 1000;
      const ctx = span?.spanContext();
      // Only a span this process records (and exports) is a trace to link to, and only one the gateway keeps.
      const linked =
        span !== undefined &&
        ctx !== undefined &&
        span.isRecording() &&
        (ctx.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED &&
        exemplars.links(ctx, res.statusCode, seconds);
      if (linked) span.setAttribute(ATTR_EXEMPLAR, true);
      duration.observe({
        labels: {
          http_request_method: methodLabel(req.method),
          http_route: routeTemplate(req),
          http_response_status_code: String(res.statusCode),
        },
        value: seconds,
        // prom-client types exemplar labels as the metric's own label names; they are not. An empty
        // set leaves the bucket's previous exemplar in place.
        exemplarLabels: (linked ? { trace_id: ctx.traceId, span_id: ctx.spanId } : {}) as Record<
          string,
          string
        >,
      });
    });
    next();
  };
}
