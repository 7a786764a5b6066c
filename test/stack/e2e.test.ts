// The end-to-end proof of the stack: a real service, a real Redis, a real Prometheus 3 loaded with the
// project's own rules and (almost) the compose scrape config, and the real collector on the compose
// config exporting to stand-ins for Tempo (OTLP/gRPC) and Loki (OTLP/HTTP), under a traffic mix. Then
// every Prometheus query of every dashboard panel and every recording rule must return data, and the
// exemplars Prometheus stored must point at traces that came out of the collector.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDownstreamStub } from '../support/downstream-stub.ts';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startRedis } from '../support/redis-server.ts';
import { startServiceProcess } from '../support/service-process.ts';
import { startCollector } from './support/collector.ts';
import { dashboardTargets, loadDashboards, type PanelTarget } from './support/dashboards.ts';
import { interpolate } from './support/grafana-variables.ts';
import { startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import { ROOT } from './support/paths.ts';
import {
  composePrometheusConfig,
  JOB,
  type Sample,
  startPrometheus,
  testPrometheusConfig,
} from './support/prometheus.ts';
import {
  ALLOWED_ORIGIN,
  E2E_ADMIN_TOKEN,
  E2E_API_TOKEN,
  LIMITS,
  newTrafficLog,
  SLOW_REQUEST_MS,
  trafficRound,
} from './support/traffic.ts';

const SCRAPE_SECONDS = 1;

/** Why a query result does not show data, or undefined when it does. */
function noData(r: { status: string; error?: string; data?: { result: Sample[] } }): string | undefined {
  if (r.status !== 'success') return `query error: ${r.error}`;
  const result = r.data?.result ?? [];
  if (result.length === 0) return 'empty result';
  const values = result.flatMap((s) => (s.values ?? (s.value ? [s.value] : [])).map((v) => Number(v[1])));
  // A series of NaN only (0/0) draws nothing in Grafana: it is "No data" to the user.
  if (!values.some((v) => Number.isFinite(v))) return `${result.length} series, but no finite value`;
  return undefined;
}

test('when the service runs under a traffic mix and a real Prometheus scrapes it with the project rules, then every dashboard query, every recording rule and the exemplars show real data', async (t) => {
  const began = performance.now();

  // The compose scrape config and the one used here differ only in the target discovery and the intervals.
  await t.test(
    'when the test derives its scrape config from the compose one, then only the target and intervals differ',
    () => {
      const compose = composePrometheusConfig();
      const local = testPrometheusConfig('127.0.0.1:9464');
      const strip = (c: typeof compose) => {
        const copy = structuredClone(c);
        delete copy.global.scrape_interval;
        delete copy.global.evaluation_interval;
        // Alertmanager is alerting.test.ts's subject; this test runs without one.
        delete copy.alerting;
        copy.rule_files = copy.rule_files.map((f: string) => f.replace(`${join(ROOT, 'prometheus')}/`, ''));
        for (const job of copy.scrape_configs) {
          delete job.dns_sd_configs;
          delete job.static_configs;
        }
        return copy;
      };
      assert.deepEqual(strip(local), strip(compose));
      assert.deepEqual(local.scrape_configs[0].static_configs, [{ targets: ['127.0.0.1:9464'] }]);
    },
  );

  // Tempo and Loki stand-ins behind the real collector: what the service exports reaches them only
  // through the collector's pipelines, as in compose.
  const [redis, tempo, loki] = await Promise.all([
    startRedis(t),
    startOtlpGrpcReceiver(),
    startOtlpReceiver({ pathPrefix: '/otlp' }),
  ]);
  t.after(() => tempo.close());
  t.after(() => loki.close());
  const collector = await startCollector(t, { tempo: tempo.endpoint, loki: `${loki.url}/otlp` });
  // A downstream for the outgoing-call panels: the template's own API calls nobody, so the service runs
  // from a test-only entry that composes it as server.ts does, with listing items calling the stub
  // (fetch and node:http; one path answers 503).
  const downstream = await startDownstreamStub();
  t.after(() => downstream.close());
  // The start command of the README and the Dockerfile, instrumentation first.
  const service = await startServiceProcess(
    t,
    {
      HOST: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      // PostgreSQL, as in compose: the pool panel and the database panels get data.
      DATABASE_URL: (await createTestDatabase(t)).url,
      API_TOKENS: E2E_API_TOKEN,
      ADMIN_TOKEN: E2E_ADMIN_TOKEN,
      CORS_ORIGINS: ALLOWED_ORIGIN,
      TRUST_PROXY: '1',
      RATE_LIMIT_GENERAL_POINTS: String(LIMITS.general),
      RATE_LIMIT_API_POINTS: String(LIMITS.api),
      RATE_LIMIT_ADMIN_POINTS: String(LIMITS.admin),
      OTEL_SERVICE_NAME: JOB,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
      // The SDK default (http/protobuf), as in the compose stack.
      OTEL_TRACES_SAMPLER: 'always_on',
      // As in compose: the single collector keeps every trace, so every request may be an exemplar.
      TAIL_SAMPLING_RATIO_PERCENT: '100',
      // Export spans quickly, so the stand-ins have them by the time the exemplars are checked.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      DOWNSTREAM_URLS: `${downstream.url}/inventory,${downstream.url}/fail`,
    },
    { entry: 'test/support/fixtures/service-with-downstream.ts' },
  );
  const prometheus = await startPrometheus(
    t,
    testPrometheusConfig(new URL(service.metricsUrl).host, `${SCRAPE_SECONDS}s`),
  );
  const start = Date.now() / 1000;
  await prometheus.waitFor(`up{job="${JOB}"} == 1`, 20_000);

  // Two rounds a few scrapes apart, so every rate() has increases to see and every rule evaluates twice.
  const traffic = newTrafficLog();
  await trafficRound(service.url, traffic, 1);
  await sleep(3_000);
  await trafficRound(service.url, traffic, 2);
  await sleep(4 * SCRAPE_SECONDS * 1000);
  const end = Date.now() / 1000;

  await t.test('when the traffic mix ran, then it produced every status the panels and rules look at', () => {
    const seen = [...traffic.statuses.keys()].sort((a, b) => a - b);
    for (const status of [200, 201, 204, 400, 401, 403, 404, 413, 415, 429, 500])
      assert.ok(traffic.statuses.has(status), `no ${status} in the traffic mix (saw ${seen.join(', ')})`);
    assert.ok(
      traffic.slowMs.length > 0 && traffic.slowMs.every((ms) => ms >= SLOW_REQUEST_MS),
      `slow requests: ${traffic.slowMs.join(', ')} ms`,
    );
  });

  await t.test(
    'when Prometheus loaded the project rules, then every rule evaluated without error',
    async () => {
      const groups = await prometheus.rules();
      const rules = groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
      assert.ok(rules.length >= 39, `only ${rules.length} rules loaded`);
      const broken = rules
        .filter((r) => r.health !== 'ok')
        .map((r) => `${r.group}/${r.name}: ${r.health} ${r.lastError ?? ''}`);
      assert.deepEqual(broken, []);
    },
  );

  await t.test('when every recording rule’s series is queried, then each has a finite value', async () => {
    const groups = await prometheus.rules();
    const failures: string[] = [];
    let checked = 0;
    for (const g of groups)
      for (const r of g.rules) {
        if (r.type !== 'recording') continue;
        const labels = Object.entries((r as { labels?: Record<string, string> }).labels ?? {})
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        const expr = `${r.name}{${labels}}`;
        checked++;
        const why = noData(await prometheus.query(expr, end));
        if (why) failures.push(`recording rule ${r.name} (${g.name}): ${why}\n    ${r.query}`);
      }
    t.diagnostic(`recording rules checked: ${checked}`);
    assert.ok(checked >= 27, `only ${checked} recording rules`);
    assert.equal(failures.length, 0, `recording rules without data:\n${failures.join('\n')}`);
  });

  await t.test(
    'when every Prometheus target of every dashboard panel runs with Grafana’s variables substituted, then each returns data',
    async () => {
      const failures: string[] = [];
      const lokiTargets: PanelTarget[] = [];
      let checked = 0;
      for (const d of loadDashboards()) {
        for (const target of dashboardTargets(d)) {
          // No Loki runs here (the compose stack has one): its panels are listed, not queried, and chosen
          // by datasource type so a Prometheus panel can never slip into this list by mistake.
          if (target.datasourceType === 'loki') {
            lokiTargets.push(target);
            continue;
          }
          assert.equal(
            target.datasourceType,
            'prometheus',
            `${d.title} / ${target.panel}: unexpected datasource`,
          );
          const { expr, stepSeconds } = interpolate(d, target.target.expr ?? '', {
            rangeSeconds: end - start,
            scrapeIntervalSeconds: SCRAPE_SECONDS,
          });
          checked++;
          const result = target.target.instant
            ? await prometheus.query(expr, end)
            : await prometheus.queryRange(expr, start, end, stepSeconds);
          const why = noData(result);
          if (why)
            failures.push(`${d.title} / ${target.panel} [${target.target.refId}]: ${why}\n    ${expr}`);
        }
      }
      t.diagnostic(`dashboard queries checked: ${checked}`);
      t.diagnostic(
        `Loki targets not run (no Loki here): ${lokiTargets.map((l) => `${l.dashboard} / ${l.panel}`).join('; ')}`,
      );
      assert.ok(checked >= 40, `only ${checked} Prometheus targets found`);
      assert.equal(failures.length, 0, `panels without data:\n${failures.join('\n')}`);
    },
  );

  await t.test(
    'when Prometheus is asked for exemplars, then their trace ids are among the spans the collector delivered to the Tempo stand-in',
    async () => {
      const exemplarTraceIds = async (metric: string) => {
        const series = await prometheus.exemplars(`${metric}{job="${JOB}"}`, start, Date.now() / 1000);
        const ids = series.flatMap((s) =>
          s.exemplars.map((e) => e.labels.trace_id).filter((id): id is string => !!id),
        );
        assert.ok(ids.length > 0, `${metric}: no exemplar with a trace_id (${series.length} series)`);
        return ids;
      };
      const traceIds = new Set([
        ...(await exemplarTraceIds('http_server_request_duration_seconds_bucket')),
        ...(await exemplarTraceIds('http_client_request_duration_seconds_bucket')),
      ]);
      // The batch exporter sends every 200 ms; give it a moment rather than racing it.
      const exported = () => new Set(tempo.spans.map((s) => s.traceId));
      const deadline = Date.now() + 10_000;
      let missing = [...traceIds].filter((id) => !exported().has(id));
      while (missing.length > 0 && Date.now() < deadline) {
        await sleep(200);
        missing = [...traceIds].filter((id) => !exported().has(id));
      }
      t.diagnostic(`exemplar trace ids: ${traceIds.size}; spans received: ${tempo.spans.length}`);
      assert.deepEqual(missing, [], `exemplar trace ids never exported as spans`);
    },
  );

  // Loki cannot run here, but what the Loki panels and links rely on can be checked where the collector
  // delivers to it: Loki turns the resource's service.name into the service_name label and keeps the
  // record's trace_id as structured metadata.
  await t.test(
    'when the service’s log records reach the Loki stand-in through the collector, then request lines carry service.name and a trace_id among the exported spans',
    async () => {
      const log = await loki.waitForLog(
        (l) => l.traceId !== '' && l.resource['service.name'] === JOB,
        10_000,
      );
      const traced = loki.logs.filter((l) => l.traceId !== '');
      const spanTraceIds = new Set(tempo.spans.map((s) => s.traceId));
      const orphans = traced
        .filter((l) => !spanTraceIds.has(l.traceId))
        .map((l) => `${l.traceId} ${String(l.body)}`);
      t.diagnostic(`log records: ${loki.logs.length}, with a trace_id: ${traced.length}`);
      assert.equal(log.resource['service.name'], JOB);
      assert.deepEqual(orphans, [], 'log lines whose trace was never exported');
    },
  );

  t.diagnostic(`e2e duration: ${Math.round(performance.now() - began)} ms`);
});
