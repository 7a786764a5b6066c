// The committed Kubernetes base is exactly what deploy/src generates, every object in it validates
// against its OpenAPI schema (Kubernetes 1.36 / prometheus-operator 0.90 models) and, for built-in kinds,
// against the Kubernetes 1.31 API types (the oldest version supported), every pod passes the Pod Security
// level its namespace enforces; kustomize builds it.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { files, RESOURCES, SECRET_EXAMPLE } from '../../deploy/src/index.ts';
import {
  appliedObjects,
  CLUSTER_SCOPED,
  K8S_DIR,
  type K8sObject,
  kustomizationResources,
  MODELS,
  parseStream,
  ROOT,
  readManifest,
} from './support.ts';

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objects: K8sObject[]) => new Map(objects.map((o) => [key(o), o]));

test('when the manifests are generated from deploy/src, then the committed YAML is identical', () => {
  const wanted = files();
  const committed = readdirSync(K8S_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  assert.deepEqual(committed, Object.keys(wanted).sort(), 'run `npm run k8s` and commit the result');
  for (const [file, text] of Object.entries(wanted))
    assert.ok(
      readFileSync(join(K8S_DIR, file), 'utf8') === text,
      `deploy/kubernetes/${file} differs from its source: run \`npm run k8s\` and commit`,
    );
});

test('when every committed object is checked against its schema, then each validates and lands in a namespace the base creates', () => {
  const all = [...appliedObjects(), ...readManifest(SECRET_EXAMPLE)];
  const namespaces = new Set(all.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  assert.ok(namespaces.size >= 2, 'the API and the collectors each need a namespace of their own');
  for (const o of all) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `${o.apiVersion} ${o.kind}: no schema to validate it against`);
    assert.doesNotThrow(() => new Model(o).validate(), `${key(o)} does not validate`);
    // Named, so nothing lands in whatever namespace the kubeconfig happens to point at.
    if (CLUSTER_SCOPED.has(o.kind))
      assert.equal(o.metadata.namespace, undefined, `${key(o)} is cluster-scoped`);
    else assert.ok(namespaces.has(o.metadata.namespace), `${key(o)}: its namespace is not in the base`);
  }
  const kinds = new Set(all.map((o) => o.kind));
  for (const kind of [
    'Namespace',
    'DaemonSet',
    'ClusterRole',
    'ClusterRoleBinding',
    'Deployment',
    'Service',
    'HorizontalPodAutoscaler',
    'PodDisruptionBudget',
    'ServiceAccount',
    'NetworkPolicy',
    'ConfigMap',
    'ServiceMonitor',
    'PodMonitor',
    'PrometheusRule',
    'AlertmanagerConfig',
    'Secret',
  ])
    assert.ok(kinds.has(kind), `no ${kind} in the base`);
});

test('when an object breaks its schema, then validation rejects it', () => {
  // The check above must be able to fail: a port that is not a number is refused.
  const d = structuredClone(readManifest('deployment.yaml')[0] as K8sObject);
  d.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  const Model = MODELS['apps/v1/Deployment'];
  assert.ok(Model);
  assert.throws(() => new Model(d).validate(), /containerPort must be integer/);
});

test('when the kustomization is read, then it lists every generated resource and not the Secret example', () => {
  assert.deepEqual(kustomizationResources(), Object.keys(RESOURCES));
  assert.ok(!kustomizationResources().includes(SECRET_EXAMPLE));
  const example = readManifest(SECRET_EXAMPLE);
  assert.equal(example.length, 1);
  assert.equal(example[0]?.kind, 'Secret');
  for (const value of Object.values(example[0]?.stringData ?? {}))
    assert.match(
      String(value),
      /replace-with|public-key@o0\./,
      'the example carries a value that looks real',
    );
});

const SCHEMA_1_31 = join(ROOT, 'scripts', 'k8s-schema-1.31.sh');

/** Runs the Kubernetes 1.31 API-type check (scripts/k8s-schema-1.31.sh) on a YAML stream. */
function checkAgainst131(stream: string) {
  // A cold build of the checker takes a minute or two; CI builds it before the tests.
  return spawnSync(SCHEMA_1_31, [], { input: stream, encoding: 'utf8', timeout: 280_000 });
}

test('when the built-in objects are decoded into the Kubernetes 1.31 API types, then none has an unknown field or a wrong type', () => {
  const stream = [...kustomizationResources(), SECRET_EXAMPLE]
    .map((f) => readFileSync(join(K8S_DIR, f), 'utf8'))
    .join('---\n');
  const r = checkAgainst131(stream);
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(
    r.stdout,
    /checked (\d+) objects against k8s\.io\/api v0\.31\.\d+, (\d+) custom resources .*, 0 failed/,
  );
  const [, checked, custom] = /checked (\d+) objects .*, (\d+) custom/.exec(r.stdout) ?? [];
  const all = [...appliedObjects(), ...readManifest(SECRET_EXAMPLE)];
  const builtIn = all.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
  assert.equal(Number(checked), builtIn.length);
  assert.equal(Number(custom), all.length - builtIn.length);
  // Each workload was judged by its own namespace's enforce label: the API's at `restricted`.
  const workloads = builtIn.filter((o) => o.spec?.template?.spec);
  assert.match(r.stdout, new RegExp(`${workloads.length} pod templates evaluated .*, 0 refused`));
  for (const w of workloads) {
    const ns = builtIn.find((o) => o.kind === 'Namespace' && o.metadata.name === w.metadata.namespace);
    const level = ns?.metadata.labels?.['pod-security.kubernetes.io/enforce'];
    assert.ok(level, `${key(w)}: its namespace enforces no Pod Security level`);
    assert.match(
      r.stdout,
      new RegExp(`${w.kind}/${w.metadata.name} in ${w.metadata.namespace}: allowed by ${level}:`),
    );
  }
  const api = workloads.find((w) => w.metadata.labels['app.kubernetes.io/component'] === 'api');
  assert.match(
    r.stdout,
    new RegExp(`Deployment/${api?.metadata.name} in \\S+: allowed by restricted:v1\\.31`),
  );
});

/** The namespaces of the base, relabelled, followed by the given workloads, as one YAML stream. */
function withNamespaces(levels: Record<string, string>, ...workloads: K8sObject[]): string {
  const namespaces = readManifest('namespaces.yaml').map((n) => {
    const level = levels[n.metadata.name];
    if (level) n.metadata.labels['pod-security.kubernetes.io/enforce'] = level;
    return n;
  });
  return [...namespaces, ...workloads].map((o) => stringify(o)).join('---\n');
}

test('when a pod breaks the Pod Security level of its namespace, then the 1.31 check refuses it', () => {
  const [api] = readManifest('deployment.yaml');
  const agent = readManifest('otel-agent.yaml').find((o) => o.kind === 'DaemonSet');
  assert.ok(api && agent);
  // The agent as it is, moved into the API's `restricted` namespace: hostPath and uid 0.
  const moved = structuredClone(agent);
  moved.metadata.namespace = api.metadata.namespace;
  let r = checkAgainst131(withNamespaces({}, moved));
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(
    r.stdout,
    /DaemonSet\/otel-agent in \S+: forbidden by restricted:v1\.31: .*"hostPath".*runAsNonRoot != true.*runAsUser=0/,
  );
  // Where it belongs, `baseline` would still refuse it: only `privileged` admits a hostPath.
  r = checkAgainst131(withNamespaces({ [agent.metadata.namespace]: 'baseline' }, agent));
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /forbidden by baseline:latest: hostPath volumes/);
});

test('when the gateway is judged at `restricted`, then it passes: only the agent needs the collectors’ namespace to be privileged', () => {
  const gateway = readManifest('otel-gateway.yaml').find((o) => o.kind === 'Deployment');
  assert.ok(gateway);
  const r = checkAgainst131(withNamespaces({ [gateway.metadata.namespace]: 'restricted' }, gateway));
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Deployment\/otel-gateway in observability: allowed by restricted:latest/);
});

test('when an object uses a field Kubernetes 1.31 does not know, then the 1.31 check refuses it though the newer schemas accept it', () => {
  // hostnameOverride arrived in Kubernetes 1.34: the models' 1.36 schema takes it, a 1.31 API server would not.
  const d = structuredClone(readManifest('deployment.yaml')[0] as K8sObject);
  d.spec.template.spec.hostnameOverride = 'api';
  const Model = MODELS['apps/v1/Deployment'];
  assert.ok(Model);
  assert.doesNotThrow(() => new Model(d).validate());
  const r = checkAgainst131(stringify(d));
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /unknown field "hostnameOverride"/);
});

/** `kubectl kustomize` (built-in kustomize) or a standalone `kustomize`, whichever is installed. */
function kustomizeBuild(dir: string): string {
  for (const [cmd, args] of [
    ['kubectl', ['kustomize', dir]],
    ['kustomize', ['build', dir]],
  ] as const) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') continue;
    assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
    return r.stdout;
  }
  assert.fail('neither kubectl nor kustomize is installed (.ci/run installs kustomize)');
}

test('when kustomize builds deploy/kubernetes, then it yields exactly the committed objects', () => {
  const built = byKey(parseStream(kustomizeBuild(K8S_DIR), 'kustomize output'));
  const committed = byKey(appliedObjects());
  assert.deepEqual([...built.keys()].sort(), [...committed.keys()].sort());
  for (const [k, o] of committed)
    assert.ok(isDeepStrictEqual(built.get(k), o), `${k} changed in kustomize's hands`);
});

test('when `npm run --silent k8s:render` runs, then stdout is one YAML stream of exactly the applied objects', () => {
  const stdout = execFileSync('npm', ['run', '--silent', 'k8s:render'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rendered = parseStream(stdout, 'k8s:render');
  assert.deepEqual(
    rendered.map(key),
    appliedObjects().map(key),
    'render and the kustomization list different objects',
  );
  const applied = byKey(appliedObjects());
  for (const o of rendered)
    assert.ok(isDeepStrictEqual(o, applied.get(key(o))), `${key(o)} differs: run \`npm run k8s\``);
});

test('when the dashboards are packed as ConfigMaps, then each is labelled for the Grafana sidecar and carries the JSON unchanged, and every object fits client-side apply', () => {
  const maps = readManifest('dashboards.yaml');
  const dashboards = readdirSync(join(ROOT, 'grafana', 'dashboards'))
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.deepEqual(maps.map((m) => Object.keys(m.data)[0]).sort(), dashboards);
  for (const m of maps) {
    assert.equal(m.metadata.labels.grafana_dashboard, '1');
    const [file, json] = Object.entries(m.data as Record<string, string>)[0] ?? [];
    assert.ok(file && json !== undefined);
    assert.ok(
      json === readFileSync(join(ROOT, 'grafana', 'dashboards', file), 'utf8'),
      `${m.metadata.name} differs from grafana/dashboards/${file}: run \`npm run k8s\``,
    );
  }
  // kubectl's client-side apply copies each whole object into one annotation, limited to 256 KiB.
  for (const o of appliedObjects())
    assert.ok(Buffer.byteLength(JSON.stringify(o)) < 262_144, `${key(o)} is too large for client-side apply`);
});
