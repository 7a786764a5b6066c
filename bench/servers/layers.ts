// Benchmark-only: which router layers of the template's app make up each optional layer, so the
// benchmark can measure one layer at a time. Production never loads this file.
import type { Express } from 'express';
import type { Dependencies } from '../../service/src/dependencies.ts';

type Handle = ((...args: never[]) => unknown) & { readonly logger?: unknown; readonly __original?: Handle };

/**
 * App-level layers, each recognised among the app's top-level middleware by identity where the
 * dependencies expose the function, otherwise by a line of its source that nothing else contains.
 * Process-level layers (the OTel SDK, Sentry) are switched by the orchestrator with the service's
 * own variables instead. If the template changes so that a layer is no longer found, the benchmark
 * stops with an error rather than measure the wrong thing.
 */
export const APP_LAYERS: Readonly<Record<string, (h: Handle, deps: Dependencies) => boolean>> = {
  // helmet and Cache-Control (security-headers.ts)
  helmet: (h) => h.toString().includes("'Cache-Control', 'no-store'"),
  // the CORS allowlist (cors.ts)
  cors: (h) => h.toString().includes('Access-Control-Allow-Origin'),
  // the general and api tiers on Redis (the admin tier sits on admin routes only)
  limiter: (h, d) => h === d.rateLimits.tier.general || h === d.rateLimits.tier.api,
  // request id and the pino-http access log line
  'access-log': (h) => h.logger !== undefined || h.toString().includes('REQUEST_ID_HEADER'),
  // http_server_request_duration_seconds with exemplars, http_server_active_requests
  metrics: (h) => h.toString().includes('active.inc()'),
  // recent latency for /api/health/performance
  'request-stats': (h, d) => h === d.requestStats.middleware,
};

interface RouterLayer {
  readonly handle: Handle;
}

/** The app's top-level middleware: its router's layers, and the handlers of a middleware series. */
function middlewareLists(app: Express): Handle[][] {
  const stack = (app.router as unknown as { stack: RouterLayer[] }).stack;
  const lists: Handle[][] = [];
  for (const layer of stack) {
    const h = layer.handle.__original ?? layer.handle;
    const series = (h as { handlers?: Handle[] }).handlers;
    if (Array.isArray(series)) lists.push(series);
  }
  return lists;
}

/** Removes every known app-level layer not in `keep`; throws when a layer's middleware is not found. */
export function keepOnlyLayers(app: Express, deps: Dependencies, keep: readonly string[]): void {
  const stack = (app.router as unknown as { stack: RouterLayer[] }).stack;
  const series = middlewareLists(app);
  for (const [layer, matches] of Object.entries(APP_LAYERS)) {
    if (keep.includes(layer)) continue;
    let removed = 0;
    for (let i = stack.length - 1; i >= 0; i--) {
      // The OTel express instrumentation wraps every handle (shimmer keeps the original).
      const h = (stack[i] as RouterLayer).handle;
      if (matches(h.__original ?? h, deps)) {
        stack.splice(i, 1);
        removed++;
      }
    }
    for (const list of series)
      for (let i = list.length - 1; i >= 0; i--)
        if (matches(list[i] as Handle, deps)) {
          list.splice(i, 1);
          removed++;
        }
    if (removed === 0) throw new Error(`bench: layer ${layer} not found in the template app`);
  }
}
