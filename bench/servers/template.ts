// The template as production runs it (service/src/server.ts's startService), plus the benchmark's probe route.
// The orchestrator loads service/src/instrumentation.ts with --import exactly as `npm start` does when
// the telemetry layer is on, and sets every other switch through the service's own environment variables.
import type { Express } from 'express';
import { loadConfig } from '../../service/src/config.ts';
import { telemetryHandle } from '../../service/src/observability/telemetry-handle.ts';
import { startService } from '../../service/src/server.ts';
import { announceReady, exitOnSignal, HELLO_BODY, HELLO_PATH } from './common.ts';
import { keepOnlyLayers } from './layers.ts';

const config = loadConfig();
const svc = await startService(config);
const app: Express = svc.app;

// BENCH_LAYERS (benchmark only): the app-level layers to keep; absent means all of them, as in production.
const keep = process.env.BENCH_LAYERS;
if (keep !== undefined) keepOnlyLayers(app, svc.deps, keep === '' ? [] : keep.split(','));

mountProbeRoute(app);

// BENCH_EXTRA_LABEL_SETS (benchmark only): label sets added to the request-duration histogram through
// the service's own registry, to time a /metrics scrape at a high series count.
const extra = Number(process.env.BENCH_EXTRA_LABEL_SETS ?? 0);
for (let i = 0; i < extra; i++) {
  // The object form: the histogram has exemplars enabled, as in production.
  svc.deps.metrics.httpRequestDuration.observe({
    labels: { http_request_method: 'GET', http_route: `/bench/route/${i}`, http_response_status_code: '200' },
    value: (i % 100) / 1000,
    exemplarLabels: {},
  });
}

announceReady({ url: svc.url, metricsUrl: svc.metricsUrl });
exitOnSignal(async () => {
  await svc.stop();
  await telemetryHandle().shutdown(3_000);
});

interface RouterLayer {
  readonly name: string;
  readonly handle: { length: number };
}

/**
 * Serves HELLO_PATH from inside the template's own middleware chain: the route is inserted right
 * before the not-found handler (the last non-error layer), so every middleware that a real API
 * route passes through (headers, logs, metrics, limits, ...) runs for it too.
 */
function mountProbeRoute(app: Express): void {
  app.get(HELLO_PATH, (_req, res) => {
    res.json(HELLO_BODY);
  });
  const stack = (app.router as unknown as { stack: RouterLayer[] }).stack;
  const probe = stack.pop() as RouterLayer;
  let at = stack.length - 1;
  while (at >= 0 && (stack[at] as RouterLayer).handle.length >= 4) at--;
  if (at < 0) throw new Error('bench: no not-found handler found in the template app');
  stack.splice(at, 0, probe);
}
