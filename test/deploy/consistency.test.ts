// The Kubernetes base keeps the service's promises: read from the committed YAML and checked against
// the service itself (config.ts, its probe and metrics endpoints over real HTTP, the rule files).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { withLinkBases } from '../../deploy/src/alerting.ts';
import { type Config, loadConfig } from '../../service/src/config.ts';
import { startTestService } from '../../service/test/helpers.ts';
import { knownEnvironmentVariables } from '../support/known-env.ts';
import {
  apiObjects,
  configMapEnvironment,
  type K8sObject,
  only,
  podEnvironment,
  ROOT,
  readManifest,
} from './support.ts';

const objects = apiObjects();
const deployment = only(objects, 'Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const service = only(objects, 'Service');
const serviceMonitor = only(objects, 'ServiceMonitor');
const networkPolicy = only(objects, 'NetworkPolicy');
const [secretExample] = readManifest('secret.example.yaml');

/** Kubelet and the process must agree: the process forces its own exit this long before SIGKILL. */
const MIN_GRACE_MARGIN_SECONDS = 5;

const containerPort = (name: string): number => {
  const p = container.ports.find((x: { name: string }) => x.name === name);
  assert.ok(p, `the container has no port named ${name}`);
  return p.containerPort;
};

function podConfig(t: { after(fn: () => void): void }): Config {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-pod-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return loadConfig(podEnvironment(dir));
}

test('when the pod starts with the image environment, the ConfigMap and the Secret, then config.ts accepts it as production and listens on the named ports', (t) => {
  const config = podConfig(t);
  assert.equal(config.env, 'production');
  assert.equal(config.port, containerPort('http'));
  assert.equal(config.metrics.port, containerPort('metrics'));
  assert.equal(config.host, '0.0.0.0', 'the API listener must be reachable from outside the pod');
  assert.equal(config.metrics.host, '0.0.0.0', 'the metrics listener must be reachable by Prometheus');
  assert.equal(config.database.kind, 'postgresql', 'replicas must share one database');
  assert.ok(config.redisUrl, 'rate-limit counters must be shared');
});

test('when the Deployment sets an environment variable, then config.ts or the OTel SDK reads it', () => {
  const known = new Set(knownEnvironmentVariables());
  const set = [
    ...Object.keys(configMapEnvironment()),
    ...(container.env ?? []).map((e: { name: string }) => e.name),
  ];
  assert.ok(set.length > 10, `found only ${set.length} variables`);
  const unknown = set.filter((name) => !known.has(name));
  assert.deepEqual(unknown, [], `the Deployment sets variables nothing reads: ${unknown.join(', ')}`);
});

test('when the pod is terminated, then its grace period outlasts the service’s shutdown deadline', (t) => {
  const { delayMs, timeoutMs } = podConfig(t).shutdown;
  const budgetSeconds = (delayMs + timeoutMs) / 1000;
  assert.ok(budgetSeconds >= 10, `shutdown budget ${budgetSeconds}s: production defaults not applied?`);
  assert.ok(
    pod.terminationGracePeriodSeconds > budgetSeconds + MIN_GRACE_MARGIN_SECONDS,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} must exceed ` +
      `SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS = ${budgetSeconds}s by more than ${MIN_GRACE_MARGIN_SECONDS}s`,
  );
});

test('when the kubelet probes the pod, then each probe path answers 200 on the API port', async (t) => {
  const probes = {
    startup: container.startupProbe,
    liveness: container.livenessProbe,
    readiness: container.readinessProbe,
  };
  const svc = await startTestService(t);
  for (const [kind, probe] of Object.entries(probes)) {
    assert.ok(probe?.httpGet, `no HTTP ${kind} probe`);
    assert.equal(probe.httpGet.port, 'http', `${kind} probe is not on the API port`);
    const res = await svc.fetch(probe.httpGet.path);
    assert.equal(res.status, 200, `${kind} probe ${probe.httpGet.path} answered ${res.status}`);
  }
  // Liveness must not restart pods when a dependency is down: only readiness checks them.
  assert.notEqual(probes.liveness.httpGet.path, probes.readiness.httpGet.path);
  const ready = (await (await svc.fetch(probes.readiness.httpGet.path)).json()) as { checks?: unknown };
  assert.ok(ready.checks, 'the readiness path is not the readiness endpoint (no dependency checks)');
});

// Prometheus's Accept header for a scrape_protocols list (scrape/scrape.go: acceptHeader).
const ACCEPT: Readonly<Record<string, string>> = {
  OpenMetricsText1_0_0: 'application/openmetrics-text;version=1.0.0',
  OpenMetricsText0_0_1: 'application/openmetrics-text;version=0.0.1',
  PrometheusText1_0_0: 'text/plain;version=1.0.0',
  PrometheusText0_0_4: 'text/plain;version=0.0.4',
};
function acceptHeader(protocols: string[]): string {
  let weight = protocols.length + 1;
  const parts = protocols.map((p) => {
    const type = ACCEPT[p.replaceAll('.', '_')] ?? assert.fail(`unknown scrape protocol ${p}`);
    return `${type};q=0.${weight--}`;
  });
  return [...parts, `*/*;q=0.${weight}`].join(',');
}

test('when Prometheus scrapes through the ServiceMonitor, then the port chain ends at the metrics listener and it answers OpenMetrics', async (t) => {
  assert.equal(serviceMonitor.spec.jobLabel, undefined, 'a jobLabel would change the job the rules select');
  const [endpoint] = serviceMonitor.spec.endpoints;
  assert.equal(serviceMonitor.spec.endpoints.length, 1);
  const servicePort = service.spec.ports.find((p: { name: string }) => p.name === endpoint.port);
  assert.ok(servicePort, `the ServiceMonitor scrapes port ${endpoint.port}, which the Service lacks`);
  for (const [k, v] of Object.entries(serviceMonitor.spec.selector.matchLabels))
    assert.equal(service.metadata.labels[k], v, 'the ServiceMonitor does not select the Service');
  const target = servicePort.targetPort;
  const port = typeof target === 'number' ? target : containerPort(target);
  assert.equal(port, podConfig(t).metrics.port, 'the scraped port is not METRICS_PORT');

  const svc = await startTestService(t);
  const protocols: string[] = serviceMonitor.spec.scrapeProtocols;
  assert.ok(protocols[0]?.startsWith('OpenMetrics'), 'exemplars need OpenMetrics asked for first');
  const res = await fetch(`${svc.metricsUrl}${endpoint.path}`, {
    headers: { accept: acceptHeader(protocols) },
  });
  assert.equal(res.status, 200, `${endpoint.path} on the metrics listener answered ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
  assert.match(await res.text(), /# EOF\n$/);
});

test("when the rules are read, then each PrometheusRule equals its prometheus/rules file, the alerts' link bases written in", () => {
  const rulesDir = join(ROOT, 'prometheus', 'rules');
  const rules = objects.filter((o) => o.kind === 'PrometheusRule');
  const files = rules.map((r) => r.metadata.labels['prometheus-rule-file']).sort();
  const onDisk = readdirSync(rulesDir).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(onDisk.length > 0);
  assert.deepEqual(files, onDisk.sort(), 'a rule file has no PrometheusRule, or the reverse');
  for (const r of rules) {
    const file = r.metadata.labels['prometheus-rule-file'];
    const { groups } = parse(readFileSync(join(rulesDir, file), 'utf8'));
    for (const rule of groups.flatMap((g: K8sObject) => g.rules))
      for (const [k, v] of Object.entries<string>(rule.annotations ?? {}))
        rule.annotations[k] = withLinkBases(v);
    assert.ok(
      isDeepStrictEqual(r.spec.groups, groups),
      `${r.metadata.name} differs from prometheus/rules/${file}: run \`npm run k8s\``,
    );
  }
});

test('when the rules select a job, then it is the job the ServiceMonitor produces and the OTel service name', () => {
  // A ServiceMonitor without jobLabel names the job after the Service.
  const job = service.metadata.name;
  assert.equal(configMapEnvironment().OTEL_SERVICE_NAME, job);
  const exprs = objects
    .filter((o) => o.kind === 'PrometheusRule')
    .flatMap((r) => r.spec.groups.flatMap((g: K8sObject) => g.rules.map((x: K8sObject) => String(x.expr))));
  const jobs = new Set(exprs.flatMap((e) => [...e.matchAll(/job="([^"]+)"/g)].map((m) => m[1])));
  assert.ok(jobs.size > 0, 'no rule selects a job');
  assert.deepEqual([...jobs], [job]);
});

test('when the NetworkPolicy is read, then it admits the named ports and lets the pod reach every configured dependency', () => {
  const spec = networkPolicy.spec;
  for (const [k, v] of Object.entries(spec.podSelector.matchLabels))
    assert.equal(pod.metadata?.labels?.[k] ?? deployment.spec.template.metadata.labels[k], v);
  const ingressPorts = spec.ingress.flatMap((r: K8sObject) => r.ports.map((p: K8sObject) => p.port));
  assert.deepEqual(ingressPorts.sort(), ['http', 'metrics']);
  for (const name of ingressPorts) containerPort(name);
  const metricsRule = spec.ingress.find((r: K8sObject) =>
    r.ports.some((p: K8sObject) => p.port === 'metrics'),
  );
  assert.ok(metricsRule.from?.length > 0, 'the metrics port is open to everyone');
  for (const peer of metricsRule.from) {
    assert.ok(peer.namespaceSelector, 'metrics admitted from no particular namespace');
    assert.ok(peer.podSelector, 'metrics admitted from any pod of the namespace');
  }

  const egressPorts = new Set(
    spec.egress.flatMap((r: K8sObject) => r.ports.map((p: K8sObject) => `${p.protocol}/${p.port}`)),
  );
  assert.ok(egressPorts.has('UDP/53'), 'no DNS');
  const env = configMapEnvironment();
  for (const name of ['REDIS_URL', 'DATABASE_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
    const url = new URL(env[name] ?? assert.fail(`${name} is not set`));
    const port = url.port || { 'http:': '80', 'https:': '443' }[url.protocol];
    assert.ok(
      egressPorts.has(`TCP/${port}`),
      `${name} uses port ${port}, which the egress rules do not open`,
    );
  }
});

test('when the autoscaler reaches its maximum, then every pod’s pool together stays within PostgreSQL’s default connection limit', (t) => {
  // max_connections defaults to 100, 3 of them reserved for superusers; leave room for migrations,
  // a rolling update's surge pod and a human with psql.
  const POSTGRES_CONNECTION_BUDGET = 80;
  const hpa = only(objects, 'HorizontalPodAutoscaler');
  const config = podConfig(t);
  assert.equal(config.database.kind, 'postgresql');
  const poolMax = config.database.kind === 'postgresql' ? config.database.poolMax : 0;
  const surge = deployment.spec.strategy.rollingUpdate.maxSurge;
  const connections = (hpa.spec.maxReplicas + surge) * poolMax;
  assert.ok(
    connections <= POSTGRES_CONNECTION_BUDGET,
    `${hpa.spec.maxReplicas} + ${surge} pods x DATABASE_POOL_MAX ${poolMax} = ${connections} connections`,
  );
});

test('when the Deployment reads its Secret, then every key it uses is in secret.example.yaml', () => {
  assert.ok(secretExample);
  const keys = new Set(Object.keys(secretExample.stringData));
  const used = [
    ...(container.env ?? []).flatMap((e: K8sObject) =>
      e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : [],
    ),
    ...pod.volumes.flatMap((v: K8sObject) =>
      (v.secret?.items ?? []).map((i: K8sObject) => ({ name: v.secret.secretName, key: i.key })),
    ),
  ];
  assert.ok(used.length >= 4, 'API_TOKENS, ADMIN_TOKEN, SENTRY_DSN and the database password');
  for (const ref of used) {
    assert.equal(ref.name, secretExample.metadata.name);
    assert.ok(keys.has(ref.key), `the example Secret lacks ${ref.key}`);
  }
});
