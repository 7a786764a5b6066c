// The template as production runs it (service/src/server.ts's startService), plus the probe route as
// a component of its own, mounted as an adopter's would be. The orchestrator loads the instrumentation
// with --import as `npm start` does, and sets every switch through the service's environment.
import { Router } from 'express';
import type { AppOptions } from '../../service/src/app.ts';
import { defineComponent } from '../../service/src/component/define-component.ts';
import { COMPONENTS } from '../../service/src/components.ts';
import { loadConfig } from '../../service/src/config.ts';
import { createDependencies } from '../../service/src/dependencies.ts';
import { telemetryHandle } from '../../service/src/observability/telemetry-handle.ts';
import { startService } from '../../service/src/server.ts';
import { announceReady, exitOnSignal, HELLO_BODY, HELLO_PATH } from './common.ts';

const probe = defineComponent({
  name: 'bench',
  dir: import.meta.dirname,
  path: HELLO_PATH,
  migrations: { sqlite: [], postgresql: [] },
  repository: { sqlite: () => undefined, postgresql: () => undefined },
  routes: () =>
    Router().get('/', (_req, res) => {
      res.json(HELLO_BODY);
    }),
  openapi: { paths: () => ({}) },
});

const components = [...COMPONENTS, probe];
const config = loadConfig(undefined, components);
// BENCH_WITHOUT (benchmark only): createApp's layers to leave out, by name; absent in production.
const without = (process.env.BENCH_WITHOUT ?? '').split(',').filter(Boolean) as AppOptions['without'];
const svc = await startService(config, await createDependencies(config, { components }), { without });

// BENCH_EXTRA_LABEL_SETS (benchmark only): label sets added to the request-duration histogram through
// the service's own registry, to time a /metrics scrape at a high series count.
for (let i = 0; i < Number(process.env.BENCH_EXTRA_LABEL_SETS ?? 0); i++)
  // The object form: the histogram has exemplars enabled, as in production.
  svc.deps.metrics.httpRequestDuration.observe({
    labels: { http_request_method: 'GET', http_route: `/bench/route/${i}`, http_response_status_code: '200' },
    value: (i % 100) / 1000,
    exemplarLabels: {},
  });

announceReady({ url: svc.url, metricsUrl: svc.metricsUrl });
exitOnSignal(async () => {
  await svc.stop();
  await telemetryHandle().shutdown(3_000);
});
