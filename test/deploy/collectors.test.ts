// The two collector tiers keep their promises, read from the committed YAML: each pod sets what its
// config reads and loads the config in the repository; the ports chain from the API to the agent on its
// node, from the agent to the gateway replicas, and from the gateway to Tempo and Loki, through
// Services and NetworkPolicies; the agent reads the node's pod logs and keeps its offsets there.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  admits,
  apiObjects,
  appliedObjects,
  componentObjects,
  configMapEnvironment,
  type K8sObject,
  only,
  podOf,
  ROOT,
} from './support.ts';

const agentObjects = componentObjects('agent');
const gatewayObjects = componentObjects('gateway');
const agent = only(agentObjects, 'DaemonSet');
const gateway = only(gatewayObjects, 'Deployment');
const api = only(apiObjects(), 'Deployment');

/** Variables the Go runtime reads, not the collector's config. */
const GO_RUNTIME = new Set(['GOMEMLIMIT']);

const containerOf = (w: K8sObject) => {
  assert.equal(w.spec.template.spec.containers.length, 1);
  return w.spec.template.spec.containers[0];
};
const portNamed = (w: K8sObject, name: string): number =>
  containerOf(w).ports.find((p: K8sObject) => p.name === name)?.containerPort ??
  assert.fail(`${w.metadata.name} has no port ${name}`);
const portOf = (endpoint: string) => Number(/:(\d+)(\/.*)?$/.exec(endpoint)?.[1]);

/** The config text the pod loads: the ConfigMap key its --config argument names, in its mounted volume. */
function loadedConfig(w: K8sObject): { file: string; text: string; configMap: K8sObject } {
  const c = containerOf(w);
  const arg = (c.args as string[]).find((a) => a.startsWith('--config='));
  assert.ok(arg, `${w.metadata.name} loads no --config`);
  const path = arg.slice('--config='.length);
  const mount = (c.volumeMounts as K8sObject[]).find((m) => path.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `${path} is on no mounted volume`);
  const volume = w.spec.template.spec.volumes.find((v: K8sObject) => v.name === mount.name);
  const configMap = appliedObjects().find(
    (o) =>
      o.kind === 'ConfigMap' &&
      o.metadata.name === volume?.configMap?.name &&
      o.metadata.namespace === w.metadata.namespace,
  );
  assert.ok(configMap, `${w.metadata.name} mounts no ConfigMap of its namespace at ${mount.mountPath}`);
  const file = path.slice(mount.mountPath.length + 1);
  const text = configMap.data[file] ?? assert.fail(`${configMap.metadata.name} has no key ${file}`);
  return { file, text, configMap };
}

/** The pod's literal variables; a fieldRef stands for a value only the kubelet knows. */
function podVariables(w: K8sObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of containerOf(w).env ?? []) env[e.name] = e.value ?? `<${e.valueFrom?.fieldRef?.fieldPath}>`;
  return env;
}

/** The config as the collector expands it with the pod's environment (`${env:NAME:-default}`). */
function resolvedConfig(w: K8sObject): K8sObject {
  const env = podVariables(w);
  const text = loadedConfig(w).text.replace(
    /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (_, name, fallback) => {
      const value = env[name] ?? fallback;
      assert.ok(
        value !== undefined,
        `${w.metadata.name}: the config needs ${name}, which the pod does not set`,
      );
      return value;
    },
  );
  return parse(text);
}

/**
 * The components of a config section of one type (`type` or `type/name`); the collector's newer names
 * (`file_log`, `load_balancing`, `k8s_attributes`) are the same types as the older ones.
 */
function components(config: K8sObject, section: string, type: string): K8sObject[] {
  const types = [type, type.replaceAll('_', '')];
  const found = Object.entries(config[section] ?? {})
    .filter(([k]) => types.includes(k.split('/')[0] ?? ''))
    .map(([, v]) => v as K8sObject);
  assert.ok(found.length > 0, `no ${type} in ${section}`);
  return found;
}
const component = (config: K8sObject, section: string, type: string) =>
  components(config, section, type)[0] as K8sObject;

for (const [tier, workload] of [
  ['agent', agent],
  ['gateway', gateway],
] as const) {
  test(`when the ${tier} pod starts, then it loads the committed observability/collector config, and a config change rolls it`, () => {
    const { file, text, configMap } = loadedConfig(workload);
    assert.ok(
      text === readFileSync(join(ROOT, 'observability', 'collector', file), 'utf8'),
      `${configMap.metadata.name} differs from observability/collector/${file}: run \`npm run k8s\``,
    );
    const sum = createHash('sha256').update(JSON.stringify(configMap.data)).digest('hex');
    assert.equal(workload.spec.template.metadata.annotations['checksum/config'], sum);
  });

  test(`when the ${tier} pod sets an environment variable, then its config reads it`, () => {
    const { text } = loadedConfig(workload);
    const set = Object.keys(podVariables(workload)).filter((n) => !GO_RUNTIME.has(n));
    assert.ok(set.length >= 3, `${tier}: only ${set.join(', ')}`);
    // `${env:NAME...}` in the config, or a component option naming the variable (k8sattributes' filter).
    const unread = set.filter(
      (n) => !text.includes(`\${env:${n}`) && !new RegExp(`:\\s*${n}\\s*$`, 'm').test(text),
    );
    assert.deepEqual(unread, [], `${tier} sets variables its config never reads`);
    resolvedConfig(workload);
  });

  test(`when the kubelet probes the ${tier}, then both probes reach the health_check extension and the container has limits`, () => {
    const c = containerOf(workload);
    const health = component(resolvedConfig(workload), 'extensions', 'health_check');
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      assert.ok(probe?.httpGet, `${tier}: no HTTP probe`);
      assert.equal(portNamed(workload, probe.httpGet.port), portOf(health.endpoint));
      assert.equal(probe.httpGet.path, health.path ?? '/');
    }
    assert.ok(c.resources?.limits?.memory && c.resources?.limits?.cpu, `${tier}: no limits`);
    assert.ok(c.resources?.requests?.memory && c.resources?.requests?.cpu, `${tier}: no requests`);
    const image = parse(readFileSync(join(ROOT, 'observability', 'collector-builder.yaml'), 'utf8'));
    assert.equal(
      c.image.split(':').at(-1),
      image.dist.version,
      'the image is not the release the tests build',
    );
  });
}

test('when the API exports OTLP, then it reaches the agent on its own node, through policies on both sides', () => {
  const url = new URL(configMapEnvironment().OTEL_EXPORTER_OTLP_ENDPOINT ?? assert.fail('no OTLP endpoint'));
  const [name, namespace, svc] = url.hostname.split('.');
  assert.equal(svc, 'svc', `${url.hostname} is not a Service's DNS name`);
  const service = only(
    agentObjects.filter((o) => o.metadata.name === name && o.metadata.namespace === namespace),
    'Service',
  );
  assert.equal(service.spec.internalTrafficPolicy, 'Local', 'pods would send to other nodes’ agents');
  for (const [k, v] of Object.entries(service.spec.selector))
    assert.equal(agent.spec.template.metadata.labels[k], v);
  const servicePort = service.spec.ports.find((p: K8sObject) => p.port === Number(url.port));
  assert.ok(servicePort, `the agent Service has no port ${url.port}`);
  const port = portNamed(agent, servicePort.targetPort);
  const otlp = component(resolvedConfig(agent), 'receivers', 'otlp');
  assert.equal(
    portOf(otlp.protocols.http.endpoint),
    port,
    'the agent’s OTLP/HTTP receiver listens elsewhere',
  );

  const apiPolicy = only(apiObjects(), 'NetworkPolicy');
  const agentPolicy = only(agentObjects, 'NetworkPolicy');
  assert.ok(
    admits(apiPolicy, 'Egress', podOf(agent), port, podOf(agent)),
    'the API may not send to the agent',
  );
  assert.ok(
    admits(agentPolicy, 'Ingress', podOf(api), port, podOf(agent)),
    'the agent does not admit the API',
  );
  // The policies are not open doors: a pod of another kind in the API's namespace is not the agent.
  const stranger = { ...podOf(agent), labels: { 'app.kubernetes.io/name': 'other' } };
  assert.ok(!admits(apiPolicy, 'Egress', stranger, port, stranger));
});

test('when the agent exports, then its loadbalancing exporter resolves the gateway replicas themselves, on the port they receive on', () => {
  const receiverPort = portOf(
    component(resolvedConfig(gateway), 'receivers', 'otlp').protocols.grpc.endpoint,
  );
  assert.equal(portNamed(gateway, 'otlp-grpc'), receiverPort);
  for (const lb of components(resolvedConfig(agent), 'exporters', 'load_balancing')) {
    const { hostname, port } =
      lb.resolver.dns ?? assert.fail('the loadbalancing exporter resolves no DNS name');
    const [name, namespace, svc] = String(hostname).split('.');
    assert.equal(svc, 'svc');
    const headless = only(
      gatewayObjects.filter((o) => o.metadata.name === name && o.metadata.namespace === namespace),
      'Service',
    );
    // Headless: DNS answers with each ready pod's address, so the exporter can hash trace ids onto them.
    assert.equal(headless.spec.clusterIP, 'None');
    for (const [k, v] of Object.entries(headless.spec.selector))
      assert.equal(gateway.spec.template.metadata.labels[k], v);
    assert.equal(
      Number(port ?? 4317),
      receiverPort,
      'the agents send to a port the gateway does not receive on',
    );
  }

  const agentPolicy = only(agentObjects, 'NetworkPolicy');
  const gatewayPolicy = only(gatewayObjects, 'NetworkPolicy');
  assert.ok(admits(agentPolicy, 'Egress', podOf(gateway), receiverPort, podOf(gateway)));
  assert.ok(admits(gatewayPolicy, 'Ingress', podOf(agent), receiverPort, podOf(gateway)));
  assert.ok(
    !admits(gatewayPolicy, 'Ingress', podOf(api), receiverPort, podOf(gateway)),
    'anyone may send to the gateway',
  );
});

test('when the gateway exports, then its policy opens DNS and the ports of TEMPO_OTLP_ENDPOINT and LOKI_OTLP_ENDPOINT', () => {
  const env = podVariables(gateway);
  const policy = only(gatewayObjects, 'NetworkPolicy');
  const egress = new Set(
    policy.spec.egress.flatMap((r: K8sObject) => r.ports.map((p: K8sObject) => `${p.protocol}/${p.port}`)),
  );
  assert.ok(egress.has('UDP/53'), 'no DNS');
  for (const name of ['TEMPO_OTLP_ENDPOINT', 'LOKI_OTLP_ENDPOINT']) {
    const port = portOf(env[name] ?? assert.fail(`${name} is not set`));
    assert.ok(egress.has(`TCP/${port}`), `${name} uses port ${port}, which the egress rules do not open`);
  }
  const ratio = Number(env.TAIL_SAMPLING_RATIO_PERCENT);
  assert.ok(ratio > 0 && ratio <= 100, `TAIL_SAMPLING_RATIO_PERCENT=${env.TAIL_SAMPLING_RATIO_PERCENT}`);
});

test('when the agent runs on a node, then it reads the pod logs read-only, keeps its offsets on the node and knows which node it is on', () => {
  const pod = agent.spec.template.spec;
  const c = containerOf(agent);
  const hostPathAt = (mountPath: string) => {
    const m = c.volumeMounts.find((v: K8sObject) => v.mountPath === mountPath);
    assert.ok(m, `nothing is mounted at ${mountPath}`);
    return { mount: m, hostPath: pod.volumes.find((v: K8sObject) => v.name === m.name)?.hostPath };
  };
  const logs = hostPathAt('/var/log/pods');
  assert.equal(logs.hostPath?.path, '/var/log/pods');
  assert.equal(logs.mount.readOnly, true);
  const config = resolvedConfig(agent);
  const filelog = component(config, 'receivers', 'file_log');
  for (const glob of filelog.include) assert.ok(String(glob).startsWith('/var/log/pods/'), glob);

  const env = podVariables(agent);
  const offsets = hostPathAt(env.FILELOG_STORAGE_DIR ?? assert.fail('FILELOG_STORAGE_DIR is not set'));
  assert.equal(offsets.hostPath?.path, env.FILELOG_STORAGE_DIR, 'the offsets would not outlive the pod');
  assert.notEqual(offsets.mount.readOnly, true);
  assert.equal(component(config, 'extensions', 'file_storage').directory, env.FILELOG_STORAGE_DIR);
  assert.match(String(filelog.storage), /^file_storage/);
  // Two agents on one node would ship each line twice and share one offsets database.
  assert.equal(agent.spec.updateStrategy.rollingUpdate.maxSurge, 0);

  const node = c.env.find((e: K8sObject) => e.name === 'K8S_NODE_NAME');
  assert.equal(node?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  // Every node, whatever its taints.
  assert.ok(pod.tolerations.some((t: K8sObject) => t.operator === 'Exists' && !t.key && !t.effect));
});

test('when k8sattributes asks the API server, then the agent’s ServiceAccount may watch pods, namespaces and replicasets, and the gateway holds no token', () => {
  const pod = agent.spec.template.spec;
  assert.equal(pod.automountServiceAccountToken, true);
  const binding = only(agentObjects, 'ClusterRoleBinding');
  assert.deepEqual(binding.subjects, [
    { kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: agent.metadata.namespace },
  ]);
  const role = only(agentObjects, 'ClusterRole');
  assert.equal(binding.roleRef.name, role.metadata.name);
  const may = (group: string, resource: string) =>
    role.rules.some(
      (r: K8sObject) =>
        r.apiGroups.includes(group) &&
        r.resources.includes(resource) &&
        ['get', 'list', 'watch'].every((v) => r.verbs.includes(v)),
    );
  for (const [group, resource] of [
    ['', 'pods'],
    ['', 'namespaces'],
    ['apps', 'replicasets'],
  ] as const)
    assert.ok(may(group, resource), `cannot watch ${resource}`);
  const verbs = new Set(role.rules.flatMap((r: K8sObject) => r.verbs));
  assert.deepEqual([...verbs].sort(), ['get', 'list', 'watch'], 'the agent may change the cluster');
  assert.equal(gateway.spec.template.spec.automountServiceAccountToken, false);
});

test('when a node or a gateway replica goes away, then another replica on another node is left', () => {
  assert.ok(gateway.spec.replicas >= 2);
  const pdb = only(gatewayObjects, 'PodDisruptionBudget');
  for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels))
    assert.equal(gateway.spec.template.metadata.labels[k], v);
  assert.ok(pdb.spec.maxUnavailable < gateway.spec.replicas);
  const spread = gateway.spec.template.spec.topologySpreadConstraints.find(
    (s: K8sObject) => s.topologyKey === 'kubernetes.io/hostname',
  );
  assert.equal(spread?.whenUnsatisfiable, 'DoNotSchedule');
});

test('when Prometheus scrapes the collectors, then the PodMonitor selects both tiers on the port their own metrics listen on, which their policies admit', () => {
  const monitor = only(appliedObjects(), 'PodMonitor');
  const [endpoint] = monitor.spec.podMetricsEndpoints;
  const apiPolicy = only(apiObjects(), 'NetworkPolicy');
  // Prometheus as the API's NetworkPolicy names it: the one allowed to scrape the API's metrics.
  const from = apiPolicy.spec.ingress
    .flatMap((r: K8sObject) => r.from ?? [])
    .find((p: K8sObject) => p.podSelector);
  const prometheus = {
    namespace: from.namespaceSelector.matchLabels['kubernetes.io/metadata.name'],
    labels: from.podSelector.matchLabels,
  };
  for (const [workload, objects] of [
    [agent, agentObjects],
    [gateway, gatewayObjects],
  ] as const) {
    assert.equal(monitor.metadata.namespace, workload.metadata.namespace);
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(workload.spec.template.metadata.labels[k], v, `${workload.metadata.name} is not selected`);
    const port = portNamed(workload, endpoint.port);
    const readers = resolvedConfig(workload).service?.telemetry?.metrics?.readers ?? [];
    const own = readers.map((r: K8sObject) => r.pull?.exporter?.prometheus).find((p: K8sObject) => p);
    assert.ok(own, `${workload.metadata.name}: the config exposes no metrics to pull`);
    assert.equal(Number(own.port), port);
    assert.equal(own.host, '0.0.0.0', `${workload.metadata.name}: its metrics listen on ${own.host} only`);
    const policy = only(objects, 'NetworkPolicy');
    assert.ok(admits(policy, 'Ingress', prometheus, port, podOf(workload)), 'Prometheus may not scrape');
    assert.ok(!admits(policy, 'Ingress', podOf(api), port, podOf(workload)), 'anyone may scrape');
  }
});
