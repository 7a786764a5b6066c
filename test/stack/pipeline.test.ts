// The two-tier pipeline with the real collector binary on the committed configs: a node agent
// (observability/collector/agent.yaml) reads the service's stdout from CRI log files and forwards its
// spans, keyed by trace id, to gateways (gateway.yaml) that tail-sample and export to stand-ins for
// Tempo (OTLP/gRPC) and Loki (OTLP/HTTP). The Kubernetes API is a stand-in too (k8s_attributes).
import { strict as assert } from 'node:assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomnessOf, thresholdFor } from '../../service/src/observability/metrics/exemplar-policy.ts';
import { startDownstreamStub } from '../support/downstream-stub.ts';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { startServiceProcess } from '../support/service-process.ts';
import { type StandInPod, startKubeApiStandIn } from './support/kube-api.ts';
import {
  AGENT_CONFIG,
  GATEWAY_CONFIG,
  GATEWAY_FEATURE_GATES,
  type RunningCollector,
  runCollector,
} from './support/otelcol.ts';
import { startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import { JOB, startPrometheus, testPrometheusConfig } from './support/prometheus.ts';
import { newSpanId, newTraceId, type SyntheticSpan, sendSpans } from './support/synthetic-traces.ts';

const NODE = 'node-a';
const POD: StandInPod = {
  namespace: 'shop',
  name: 'items-api-7d9f8b6c5d-x2x9z',
  uid: randomUUID(),
  nodeName: NODE,
  replicaSet: 'items-api-7d9f8b6c5d',
  container: 'items-api',
  ip: '10.1.2.3',
};
// Short enough for a test, long enough for a service's batches (OTEL_BSP_SCHEDULE_DELAY=200 below) to
// bring every span of a request before the decision, also with another test file running beside this one.
const DECISION_WAIT_S = 3;
const RATIO_PERCENT = 10;

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startGateway(t: TestContext) {
  const tempo = await startOtlpGrpcReceiver();
  t.after(() => tempo.close());
  const loki = await startOtlpReceiver({ pathPrefix: '/otlp' });
  t.after(() => loki.close());
  const gateway = await runCollector(
    t,
    GATEWAY_CONFIG,
    {
      TEMPO_OTLP_ENDPOINT: tempo.endpoint,
      LOKI_OTLP_ENDPOINT: `${loki.url}/otlp`,
      TAIL_SAMPLING_RATIO_PERCENT: String(RATIO_PERCENT),
      TAIL_SAMPLING_DECISION_WAIT: `${DECISION_WAIT_S}s`,
    },
    [GATEWAY_FEATURE_GATES],
  );
  return { tempo, loki, gateway };
}

/**
 * An agent on the node NODE. One gateway: the file's own DNS resolver on 127.0.0.1. Several: the
 * resolver is replaced by a static list (a DNS name here cannot resolve to two local ports).
 */
async function startAgent(
  t: TestContext,
  dir: string,
  kubeconfig: string,
  gateways: readonly RunningCollector[],
  name = randomBytes(3).toString('hex'),
): Promise<RunningCollector> {
  const env = {
    K8S_NODE_NAME: NODE,
    K8S_AUTH_TYPE: 'kubeConfig',
    KUBECONFIG: kubeconfig,
    POD_LOG_FILES: join(dir, 'pods', '*', '*', '*.log'),
    FILELOG_STORAGE_DIR: join(dir, `storage-${name}`),
    GATEWAY_HEADLESS_SERVICE: '127.0.0.1',
    GATEWAY_OTLP_PORT: String(gateways[0]?.otlpGrpcPort),
  };
  // A second config file merged over the first (the collector's own mechanism): no `dns`, a static list.
  const overlay = join(dir, `gateways-${name}.yaml`);
  const hostnames = `[${gateways.map((g) => g.otlpGrpc).join(', ')}]`;
  writeFileSync(
    overlay,
    ['traces', 'logs']
      .map(
        (signal) =>
          `  load_balancing/${signal}:\n    resolver:\n      dns: null\n      static:\n        hostnames: ${hostnames}\n`,
      )
      .reduce((yaml, exporter) => yaml + exporter, 'exporters:\n'),
  );
  const args = gateways.length === 1 ? [] : [`--config=${overlay}`];
  return runCollector(t, AGENT_CONFIG, env, args);
}

/** Lines written as the kubelet writes them for containerd (CRI): time, stream, P(artial)/F(ull), text. */
function criWriter(dir: string, pod: StandInPod) {
  const folder = join(dir, 'pods', `${pod.namespace}_${pod.name}_${pod.uid}`, pod.container);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, '0.log');
  let pending = '';
  return (chunk: Buffer | string) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines)
      if (line !== '') appendFileSync(file, `${new Date().toISOString()} stdout F ${line}\n`);
  };
}

const traceparent = (traceId: string) => `00-${traceId}-${newSpanId()}-01`;
/** A trace id whose randomness lands on the chosen side of the gateway's share. */
function traceIdInShare(inShare: boolean): string {
  const threshold = thresholdFor(RATIO_PERCENT);
  for (;;) {
    const traceId = newTraceId();
    if (threshold <= randomnessOf({ traceId }) === inShare) return traceId;
  }
}

test('when the service runs behind a node agent and a gateway, then its stdout reaches Loki with trace ids, and every exemplar Prometheus scraped leads to a kept trace', async (t) => {
  const dir = tempDir(t);
  const kube = await startKubeApiStandIn(dir, [POD]);
  t.after(() => kube.close());
  const { tempo, loki, gateway } = await startGateway(t);
  const agent = await startAgent(t, dir, kube.kubeconfig, [gateway]);

  // A downstream, so that outgoing calls (http_client_request_duration_seconds) carry exemplars too.
  const downstream = await startDownstreamStub();
  t.after(() => downstream.close());
  // As in Kubernetes: spans to the node agent, log lines only to stdout (no in-process log export).
  // The test entry is server.ts's own main(), with listing items calling the downstream first.
  const service = await startServiceProcess(
    t,
    {
      DOWNSTREAM_URLS: `${downstream.url}/inventory`,
      OTEL_SERVICE_NAME: JOB,
      OTEL_EXPORTER_OTLP_ENDPOINT: agent.otlpHttpUrl,
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      TAIL_SAMPLING_RATIO_PERCENT: String(RATIO_PERCENT),
      // A few hundred requests from one client: above the default budgets of the rate limits.
      RATE_LIMIT_GENERAL_POINTS: '100000',
      RATE_LIMIT_API_POINTS: '100000',
    },
    { entry: 'test/support/fixtures/service-with-downstream.ts' },
  );
  const write = criWriter(dir, POD);
  for (const line of service.stdout) write(`${line}\n`);
  service.child.stdout?.on('data', write);

  await t.test(
    'then the pod list k8s_attributes reads is the one of its own node (K8S_NODE_NAME)',
    async () => {
      assert.ok(
        kube.requests.some((r) => r.startsWith('/api/v1/pods?') && r.includes(`spec.nodeName%3D${NODE}`)),
        kube.requests.join('\n'),
      );
    },
  );

  await t.test(
    'then the agent refuses OTLP log records: a line exported in process too would reach Loki twice',
    async () => {
      const res = await fetch(`${agent.otlpHttpUrl}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceLogs: [] }),
      });
      assert.equal(res.status, 404);
      const traces = await fetch(`${agent.otlpHttpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ resourceSpans: [] }),
      });
      assert.equal(traces.status, 200);
    },
  );

  const dropped = traceIdInShare(false);
  const kept = traceIdInShare(true);
  for (const traceId of [dropped, kept]) {
    const res = await fetch(`${service.url}/api/v1/items`, {
      headers: { traceparent: traceparent(traceId) },
    });
    assert.equal(res.status, 200);
  }

  await t.test(
    'then the access line arrives once at the Loki stand-in, as a record with the trace id, severity, body and Kubernetes metadata',
    async () => {
      const line = await loki.waitForLog((l) => l.traceId === kept && l.body === 'request completed', 30_000);
      assert.equal(line.severityText, 'info');
      assert.equal(line.severityNumber, 9);
      assert.match(line.spanId, /^[0-9a-f]{16}$/);
      assert.equal(line.resource['service.name'], JOB);
      assert.equal(line.resource['k8s.namespace.name'], POD.namespace);
      assert.equal(line.resource['k8s.pod.name'], POD.name);
      assert.equal(line.resource['k8s.pod.uid'], POD.uid);
      assert.equal(line.resource['k8s.container.name'], POD.container);
      // From the API stand-in, not from the path: k8s_attributes found the pod.
      assert.equal(line.resource['k8s.deployment.name'], 'items-api');
      assert.equal(line.resource['k8s.node.name'], NODE);
      for (const moved of ['trace_id', 'span_id', 'trace_flags', 'msg', 'level', 'time', 'service'])
        assert.equal(line.attributes[moved], undefined, `${moved} is still an attribute`);
      assert.ok(loki.requests.some((r) => r.path === '/otlp/v1/logs'));
      // Never twice: the file is the only way out (OTEL_LOGS_EXPORTER=none).
      await sleep(1_000);
      const copies = loki.logs.filter((l) => l.traceId === kept && l.body === 'request completed');
      assert.equal(copies.length, 1, `${copies.length} copies of the line`);
    },
  );

  await t.test(
    'then a fast trace outside the share is dropped at the gateway, and its log line still arrives with its trace id',
    async () => {
      await tempo.waitForSpan((s) => s.traceId === kept && s.kind === 2, 30_000);
      await loki.waitForLog((l) => l.traceId === dropped && l.body === 'request completed', 30_000);
      await sleep((DECISION_WAIT_S + 2) * 1000);
      assert.equal(
        tempo.spans.filter((s) => s.traceId === dropped).length,
        0,
        'the trace outside the share reached Tempo',
      );
    },
  );

  await t.test(
    'then every exemplar Prometheus 3 scraped during traffic belongs to a trace that reached the Tempo stand-in',
    async () => {
      const prometheus = await startPrometheus(
        t,
        testPrometheusConfig(new URL(service.metricsUrl).host, '1s'),
      );
      await prometheus.waitFor(`up{job="${JOB}"} == 1`, 20_000);
      const start = Date.now() / 1000 - 1;
      // Fast successes (10 % linked), and errors (all linked): scraped every second while they run.
      let requests = 0;
      for (let round = 0; round < 12; round++) {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(`${service.url}/api/v1/items`).then((r) => {
              assert.equal(r.status, 200);
              requests++;
              return r.arrayBuffer();
            }),
          ),
        );
        if (round % 3 === 0) assert.equal((await fetch(`${service.url}/api/debug/error`)).status, 500);
        await sleep(500);
      }
      await sleep(2_000); // the last scrape
      // Every exemplar the service exposes: server requests and outgoing calls alike.
      const series = await prometheus.exemplars(`{job="${JOB}"}`, start, Date.now() / 1000 + 1);
      const exemplars = series.flatMap((s) =>
        s.exemplars.map((e) => ({
          traceId: e.labels.trace_id ?? '',
          metric: s.seriesLabels.__name__ ?? '',
          status: s.seriesLabels.http_response_status_code,
        })),
      );
      const ids = new Set(exemplars.map((e) => e.traceId));
      const server = exemplars.filter((e) => e.metric === 'http_server_request_duration_seconds_bucket');
      assert.ok(
        server.some((e) => e.status === '500'),
        'no exemplar of an error',
      );
      assert.ok(
        server.some((e) => e.status === '200'),
        'no exemplar of a success',
      );
      assert.ok(
        exemplars.some((e) => e.metric === 'http_client_request_duration_seconds_bucket'),
        'no exemplar of an outgoing call',
      );
      // Decision wait, batch, export: then every linked trace must be there, with its marked server span.
      const deadline = Date.now() + (DECISION_WAIT_S + 15) * 1000;
      for (const traceId of ids) {
        const span = await tempo.waitForSpan(
          (s) => s.traceId === traceId && s.kind === 2,
          Math.max(1, deadline - Date.now()),
        );
        assert.equal(span.attributes['sampling.exemplar'], true, `server span of ${traceId} not marked`);
      }
      // Teeth: the gateway really dropped most fast traces, so the links above were not kept by luck.
      const stored = new Set(
        tempo.spans.filter((s) => s.resource['service.name'] === JOB && s.kind === 2).map((s) => s.traceId),
      );
      assert.ok(
        stored.size < requests / 2,
        `${stored.size} of ${requests} traces kept: no sampling happened`,
      );
    },
  );
});

test('when synthetic traces pass agent and gateway, then every error and slow trace arrives whole, probes are dropped, and the fast share is the one the trace ids select', async (t) => {
  const dir = tempDir(t);
  const kube = await startKubeApiStandIn(dir, [POD]);
  t.after(() => kube.close());
  const { tempo, gateway } = await startGateway(t);
  const agent = await startAgent(t, dir, kube.kubeconfig, [gateway]);

  // Each trace: a server span and a child, both with the service's `ot=th:0`.
  const traceOf = (opts: { ms?: number; error?: boolean; path?: string }): SyntheticSpan[] => {
    const traceId = newTraceId();
    const root = newSpanId();
    const common = { traceId, traceState: 'ot=th:0' };
    return [
      {
        ...common,
        spanId: root,
        name: 'GET /api/v1/items',
        kind: 2,
        durationMs: opts.ms ?? 3,
        error: opts.error,
        attributes: { 'url.path': opts.path ?? '/api/v1/items' },
      },
      { ...common, spanId: newSpanId(), parentSpanId: root, name: 'db.query', kind: 1, durationMs: 1 },
    ];
  };
  // N = 2000 fast traces: the kept share is asserted exactly (the trace ids decide it), and its size
  // is binomial(2000, 0.1), sd 13.4, so the 7–13 % bound below is 4.5 sd wide: a failure there is not luck.
  const fast = Array.from({ length: 2000 }, () => traceOf({}));
  const errors = Array.from({ length: 25 }, () => traceOf({ error: true }));
  const slow = Array.from({ length: 25 }, () => traceOf({ ms: 300 }));
  const probes = Array.from({ length: 25 }, (_, i) =>
    traceOf({ path: '/api/health/live', ms: i % 2 ? 400 : 2, error: i % 3 === 0 }),
  );
  const all = [...fast, ...errors, ...slow, ...probes];
  for (let i = 0; i < all.length; i += 200)
    await sendSpans(agent.otlpHttpUrl, 'synthetic', all.slice(i, i + 200).flat());

  const threshold = thresholdFor(RATIO_PERCENT);
  const idOf = (spans: SyntheticSpan[]) => spans[0]?.traceId ?? '';
  const expected = new Set([
    ...errors.map(idOf),
    ...slow.map(idOf),
    ...fast.map(idOf).filter((traceId) => threshold <= randomnessOf({ traceId })),
  ]);

  const spansAt = () => {
    const byTrace = new Map<string, number>();
    for (const s of tempo.spans) byTrace.set(s.traceId, (byTrace.get(s.traceId) ?? 0) + 1);
    return byTrace;
  };
  const deadline = Date.now() + 60_000;
  while ([...expected].some((id) => (spansAt().get(id) ?? 0) < 2) && Date.now() < deadline) await sleep(250);
  await sleep((DECISION_WAIT_S + 2) * 1000); // anything still coming would be a trace that should not
  const arrived = spansAt();

  for (const id of [...errors.map(idOf), ...slow.map(idOf)])
    assert.equal(arrived.get(id), 2, `error or slow trace ${id}: ${arrived.get(id) ?? 0} of 2 spans`);
  for (const id of probes.map(idOf)) assert.equal(arrived.get(id), undefined, `probe trace ${id} kept`);
  const keptFast = fast.map(idOf).filter((id) => arrived.has(id));
  for (const id of keptFast) assert.equal(arrived.get(id), 2, `fast trace ${id} arrived in part`);
  assert.deepEqual(
    new Set(keptFast),
    new Set([...expected].filter((id) => fast.some((f) => idOf(f) === id))),
    'the kept fast traces are not those whose randomness clears the threshold',
  );
  const share = keptFast.length / fast.length;
  assert.ok(
    share > 0.07 && share < 0.13,
    `fast share ${(share * 100).toFixed(1)} %, configured ${RATIO_PERCENT} %`,
  );
});

test('when the spans of one trace reach two agents, then the load_balancing exporters send them to one gateway, which decides for the whole trace', async (t) => {
  const dir = tempDir(t);
  const kube = await startKubeApiStandIn(dir, [POD]);
  t.after(() => kube.close());
  const first = await startGateway(t);
  const second = await startGateway(t);
  const gateways = [first.gateway, second.gateway];
  const agents = [
    await startAgent(t, dir, kube.kubeconfig, gateways),
    await startAgent(t, dir, kube.kubeconfig, gateways),
  ];

  // 300 traces; the server span goes to one agent, its child to the other. In every tenth trace only
  // the child failed: a gateway seeing only the server span would drop it.
  const traces = Array.from({ length: 300 }, (_, i) => {
    const traceId = newTraceId();
    const root = newSpanId();
    const server: SyntheticSpan = {
      traceId,
      spanId: root,
      name: 'GET /api/v1/items',
      kind: 2,
      durationMs: 3,
      traceState: 'ot=th:0',
    };
    const child: SyntheticSpan = {
      traceId,
      spanId: newSpanId(),
      parentSpanId: root,
      name: 'GET downstream',
      kind: 3,
      durationMs: 2,
      error: i % 10 === 0,
      traceState: 'ot=th:0',
    };
    return { traceId, server, child, error: i % 10 === 0 };
  });
  await sendSpans(
    agents[0]?.otlpHttpUrl ?? '',
    'front',
    traces.map((x) => x.server),
  );
  await sendSpans(
    agents[1]?.otlpHttpUrl ?? '',
    'back',
    traces.map((x) => x.child),
  );

  const at = (receiver: typeof first.tempo, traceId: string) =>
    receiver.spans.filter((s) => s.traceId === traceId).length;
  const deadline = Date.now() + 30_000;
  const failing = traces.filter((x) => x.error);
  while (
    failing.some((x) => at(first.tempo, x.traceId) + at(second.tempo, x.traceId) < 2) &&
    Date.now() < deadline
  )
    await sleep(250);
  await sleep((DECISION_WAIT_S + 2) * 1000);

  for (const { traceId, error } of traces) {
    const [a, b] = [at(first.tempo, traceId), at(second.tempo, traceId)];
    // One gateway had both spans and made one decision: all of the trace at one Tempo stand-in, or none.
    assert.ok(
      (a === 2 && b === 0) || (a === 0 && b === 2) || (!error && a === 0 && b === 0),
      `${traceId}: ${a} + ${b}`,
    );
  }
  const per = [first.tempo, second.tempo].map((r) => new Set(r.spans.map((s) => s.traceId)).size);
  assert.ok(
    per.every((n) => n > 0),
    `traces per gateway: ${per.join(', ')}: one gateway got everything`,
  );
});

test('when the agent restarts while a pod keeps logging, then every line reaches Loki exactly once', async (t) => {
  const dir = tempDir(t);
  const kube = await startKubeApiStandIn(dir, [POD]);
  t.after(() => kube.close());
  const { loki, gateway } = await startGateway(t);
  const write = criWriter(dir, POD);
  const line = (n: number) =>
    `${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: JOB, msg: `line ${n}` })}\n`;
  const arrived = (n: number) => loki.logs.filter((l) => l.body === `line ${n}`).length;
  const waitFor = async (ns: number[]) => {
    const deadline = Date.now() + 30_000;
    while (ns.some((n) => arrived(n) === 0) && Date.now() < deadline) await sleep(100);
  };

  // The same storage directory each time, as the hostPath of a node.
  const first = await startAgent(t, dir, kube.kubeconfig, [gateway], 'node-storage');
  for (let n = 0; n < 5; n++) write(line(n));
  await waitFor([0, 1, 2, 3, 4]);
  await first.stop();
  for (let n = 5; n < 10; n++) write(line(n)); // written while no agent runs
  await startAgent(t, dir, kube.kubeconfig, [gateway], 'node-storage');
  for (let n = 10; n < 15; n++) write(line(n));
  const all = Array.from({ length: 15 }, (_, n) => n);
  await waitFor(all);
  await sleep(2_000); // a copy would come now
  assert.deepEqual(
    all.map(arrived),
    all.map(() => 1),
    'copies of each line at the Loki stand-in',
  );
});
