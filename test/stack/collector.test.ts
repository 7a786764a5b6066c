// The real OpenTelemetry Collector in the path: the distribution built from the committed manifest runs
// the compose config file itself; the service exports to it, and it exports traces over OTLP/gRPC and
// logs over OTLP/HTTP to stand-ins for Tempo and Loki (AGPL: never built or fetched here). One request
// is then followed through: its server span, its access log line, and the exemplar Prometheus 3 stored.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { ENCODE_CHUNK } from '../../service/src/telemetry/otlp-export.ts';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { startServiceProcess } from '../support/service-process.ts';
import { stackBinaries } from '../support/stack-binaries.ts';
import { COLLECTOR_CONFIG, COLLECTOR_MANIFEST, startCollector } from './support/collector.ts';
import { AGENT_CONFIG, GATEWAY_CONFIG, GATEWAY_FEATURE_GATES } from './support/otelcol.ts';
import { startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import { COMPOSE_FILE } from './support/paths.ts';
import { JOB, startPrometheus, testPrometheusConfig } from './support/prometheus.ts';

const run = promisify(execFile);
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML is checked field by field below.
type Yaml = any;
const readYaml = (path: string): Yaml => parse(readFileSync(path, 'utf8'));

/** Component kinds of a collector config, as `otelcol components` names them. */
const KINDS = ['receivers', 'processors', 'exporters', 'extensions'] as const;
/** `otlp_grpc/tempo` is an instance of the component type `otlp_grpc`. */
const typeOf = (id: string) => id.split('/')[0] ?? id;

/** Every config the distribution runs: compose's, the node agent's and the gateway's. */
const CONFIGS = [COLLECTOR_CONFIG, AGENT_CONFIG, GATEWAY_CONFIG];

async function validate(otelcol: string, file: string): Promise<{ ok: boolean; output: string }> {
  try {
    // The agent's k8s_attributes refuses to start without the node it filters on (downward API in Kubernetes).
    const env = { ...process.env, K8S_NODE_NAME: 'validate-node' };
    const { stdout, stderr } = await run(otelcol, ['validate', `--config=${file}`, GATEWAY_FEATURE_GATES], {
      env,
    });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test('when the collector distribution is built from the manifest, then it has exactly the components the configs use, at the compose image’s release', async () => {
  const { otelcol } = await stackBinaries();
  const configs = CONFIGS.map(readYaml);
  const { stdout } = await run(otelcol, ['components']);
  const built = parse(stdout) as Record<string, { name: string }[] | undefined>;
  for (const kind of KINDS) {
    const used = [...new Set(configs.flatMap((c) => Object.keys(c[kind] ?? {})).map(typeOf))].sort();
    const have = (built[kind] ?? []).map((c) => c.name).sort();
    assert.deepEqual(have, used, `${kind}: built ${have.join(', ')}; the config uses ${used.join(', ')}`);
  }

  // One release for everything: the manifest's components, the binary, and the compose image.
  const manifest = readYaml(COLLECTOR_MANIFEST);
  const release = (manifest.dist.version as string).split('.').slice(0, 2).join('.'); // e.g. 0.165
  const modules: string[] = KINDS.flatMap((k) => (manifest[k] ?? []).map((m: { gomod: string }) => m.gomod));
  for (const gomod of modules) {
    const version = gomod.split(' ')[1] ?? '';
    assert.ok(version.startsWith(`v${release}.`), `${gomod}: not release ${release}`);
  }
  const { stdout: versionOut } = await run(otelcol, ['--version']);
  assert.match(versionOut, new RegExp(`version ${manifest.dist.version.replaceAll('.', '\\.')}\\b`));
  const image: string = readYaml(COMPOSE_FILE).services['otel-collector'].image;
  assert.equal(image, `otel/opentelemetry-collector-contrib:${manifest.dist.version}`);
  const contrib = modules.filter((m) =>
    m.startsWith('github.com/open-telemetry/opentelemetry-collector-contrib/'),
  );
  for (const m of contrib) assert.equal(m.split(' ')[1], `v${manifest.dist.version}`, m);
});

test('when the compose Prometheus image is compared with the built Prometheus, then both are the same release', async () => {
  const { prometheus, promtool } = await stackBinaries();
  const image: string = readYaml(COMPOSE_FILE).services.prometheus.image;
  const tag = image.replace(/^prom\/prometheus:v/, '');
  assert.match(tag, /^3\.\d+\.\d+$/, image);
  for (const bin of [prometheus, promtool]) {
    const { stdout, stderr } = await run(bin, ['--version']);
    assert.match(stdout + stderr, new RegExp(`version ${tag.replaceAll('.', '\\.')}\\b`), bin);
  }
});

test('when otelcol validates each config file, then it accepts it, and it refuses a pipeline that names an undefined exporter', async (t) => {
  const { otelcol } = await stackBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'otelcol-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const file of CONFIGS) {
    const good = await validate(otelcol, file);
    assert.ok(good.ok, `otelcol validate refused ${file}:\n${good.output}`);

    // The check has teeth: the same file with the logs pipeline's exporter definition removed is refused.
    const broken = readYaml(file);
    const exporter: string = broken.service.pipelines.logs.exporters[0];
    delete broken.exporters[exporter];
    writeFileSync(join(dir, 'broken.yaml'), stringify(broken));
    const bad = await validate(otelcol, join(dir, 'broken.yaml'));
    assert.equal(bad.ok, false, `validate accepted ${file} with the exporter ${exporter} undefined`);
    assert.ok(bad.output.includes(exporter), bad.output);
  }
});

test('when a request goes through the service, the real collector and Prometheus 3, then its span reaches the Tempo stand-in, its access log the Loki stand-in, and its exemplar carries the same trace id', async (t) => {
  await t.test('then the config’s traces and logs pipelines run memory_limiter, then batch', () => {
    const config = readYaml(COLLECTOR_CONFIG);
    for (const signal of ['traces', 'logs']) {
      const p = config.service.pipelines[signal];
      assert.ok(p, `no ${signal} pipeline`);
      // memory_limiter first: it must refuse data before anything else buffers it.
      assert.deepEqual(p.processors, ['memory_limiter', 'batch'], `${signal} processors`);
    }
  });

  const tempo = await startOtlpGrpcReceiver();
  t.after(() => tempo.close());
  const loki = await startOtlpReceiver({ pathPrefix: '/otlp' });
  t.after(() => loki.close());
  const collector = await startCollector(t, { tempo: tempo.endpoint, loki: `${loki.url}/otlp` });

  const service = await startServiceProcess(t, {
    OTEL_SERVICE_NAME: JOB,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
    OTEL_TRACES_SAMPLER: 'always_on',
    // As in compose: the single collector keeps every trace, so every request is an exemplar.
    TAIL_SAMPLING_RATIO_PERCENT: '100',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BLRP_SCHEDULE_DELAY: '200',
  });
  const prometheus = await startPrometheus(t, testPrometheusConfig(new URL(service.metricsUrl).host, '1s'));
  await prometheus.waitFor(`up{job="${JOB}"} == 1`, 20_000);

  // The request carries its own trace id, so each hop can be asked for exactly this request.
  const traceId = randomBytes(16).toString('hex');
  const res = await fetch(`${service.url}/api/v1/items`, {
    headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  });
  assert.equal(res.status, 200);

  await t.test(
    'then the server span with its http.route arrives at the Tempo stand-in over OTLP/gRPC',
    async () => {
      const span = await tempo.waitForSpan((s) => s.traceId === traceId && s.kind === 2, 20_000);
      assert.equal(span.attributes['http.route'], '/api/v1/items');
      assert.equal(span.resource['service.name'], JOB);
    },
  );

  await t.test(
    'then the access log line arrives at the Loki stand-in at /otlp/v1/logs with the trace id in its trace context',
    async () => {
      const line = await loki.waitForLog(
        (l) => l.traceId === traceId && l.body === 'request completed',
        20_000,
      );
      assert.equal(line.resource['service.name'], JOB);
      assert.ok(loki.requests.some((r) => r.path === '/otlp/v1/logs'));
      const spanIds = new Set(tempo.spans.filter((s) => s.traceId === traceId).map((s) => s.spanId));
      assert.ok(spanIds.has(line.spanId), `the log line's span ${line.spanId} is not a span of the trace`);
    },
  );

  await t.test(
    'then the exemplar Prometheus 3 stored for the request’s latency bucket has the same trace id',
    async () => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const series = await prometheus.exemplars(
          `http_server_request_duration_seconds_bucket{job="${JOB}",http_route="/api/v1/items"}`,
          Date.now() / 1000 - 120,
          Date.now() / 1000 + 5,
        );
        const hit = series.find((s) => s.exemplars.some((e) => e.labels.trace_id === traceId));
        if (hit) {
          assert.ok(hit.seriesLabels.le, 'the exemplar is on a bucket series');
          break;
        }
        if (Date.now() > deadline)
          assert.fail(`no exemplar with trace_id ${traceId}: ${JSON.stringify(series)}`);
        await sleep(250);
      }
    },
  );

  await t.test(
    'then both signals went through memory_limiter and batch in the running collector',
    async () => {
      // The collector's own metrics: memory_limiter counts items per signal; batch has no signal label,
      // but everything it sent adds up to what both exporters sent only if it sits in both pipelines.
      const sample = (text: string, name: string, ...labels: string[]): number =>
        text
          .split('\n')
          .filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)))
          .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const text = await (await fetch(collector.metricsUrl)).text();
        const limited = ['traces', 'logs'].map((signal) =>
          sample(
            text,
            'otelcol_processor_outgoing_items',
            'processor="memory_limiter"',
            `otel_signal="${signal}"`,
          ),
        );
        const batched = sample(text, 'otelcol_processor_batch_batch_send_size_sum', 'processor="batch"');
        const spans = sample(text, 'otelcol_exporter_sent_spans', 'exporter="otlp_grpc/tempo"');
        const logs = sample(text, 'otelcol_exporter_sent_log_records', 'exporter="otlp_http/loki"');
        const ok = limited.every((n) => n > 0) && spans > 0 && logs > 0 && batched === spans + logs;
        if (ok) break;
        if (Date.now() > deadline)
          assert.fail(
            `memory_limiter out (traces, logs): ${limited.join(', ')}; batch sent ${batched}; ` +
              `exporters sent ${spans} spans + ${logs} log records`,
          );
        await sleep(250);
      }
    },
  );
});

test('when spans leave as http/json in a batch of several encoding chunks, then the real collector accepts the spliced document and forwards every span', async (t) => {
  const tempo = await startOtlpGrpcReceiver();
  t.after(() => tempo.close());
  const loki = await startOtlpReceiver({ pathPrefix: '/otlp' });
  t.after(() => loki.close());
  const collector = await startCollector(t, { tempo: tempo.endpoint, loki: `${loki.url}/otlp` });
  // Not a multiple of the chunk, so the last chunk is a short one; only full batches leave.
  const batch = ENCODE_CHUNK * 2 + 7;
  const service = await startServiceProcess(t, {
    OTEL_SERVICE_NAME: JOB,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '600000',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(batch),
    RATE_LIMIT_GENERAL_POINTS: '100000',
    RATE_LIMIT_API_POINTS: '100000',
  });
  const ids = Array.from({ length: batch }, (_, i) => `json-${i}`);
  for (const id of ids)
    assert.equal(
      (await fetch(`${service.url}/api/v1/items`, { headers: { 'x-request-id': id } })).status,
      200,
    );
  // Only full batches leave (the schedule never fires): the collector forwards whole spliced documents.
  const deadline = Date.now() + 20_000;
  while (tempo.spans.length < batch && Date.now() < deadline) await sleep(200);
  assert.ok(tempo.spans.length >= batch, `the collector forwarded ${tempo.spans.length} of ${batch} spans`);
  assert.equal(tempo.spans.length % batch, 0, 'whole batches, every chunk of each');
  assert.equal(new Set(tempo.spans.map((s) => s.spanId)).size, tempo.spans.length, 'no span twice');
});
