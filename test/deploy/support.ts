// Reads the committed manifests under deploy/kubernetes the way kubectl would, and finds each
// object's typed model (whose validate() checks it against the Kubernetes or CRD OpenAPI schema).
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PodMonitor,
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(import.meta.dirname, '..', '..');
export const K8S_DIR = join(ROOT, 'deploy', 'kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: each model takes its own object shape.
type ModelClass = new (data: any) => { validate(): void };

/** Every kind the base may contain, by `apiVersion/kind`; anything else has no schema here. */
export const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': Namespace,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'apps/v1/DaemonSet': DaemonSet,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1alpha1/AlertmanagerConfig': AlertmanagerConfig,
};

// Manifests are plain YAML; tests reach into them by path, and a wrong path fails the assertion.
// biome-ignore lint/suspicious/noExplicitAny: see above.
type Loose = any;
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string } & Record<string, Loose>;
} & Record<string, Loose>;

/** The documents of a YAML stream; a syntax error fails loudly instead of dropping a document. */
export function parseStream(text: string, source: string): K8sObject[] {
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${source} document ${i}: ${doc.errors[0]?.message}`);
    return doc.toJS() as K8sObject;
  });
}

export function readManifest(file: string): K8sObject[] {
  return parseStream(readFileSync(join(K8S_DIR, file), 'utf8'), file);
}

/** The kustomization's resources, read from the committed kustomization.yaml. */
export function kustomizationResources(): string[] {
  const [k] = readManifest('kustomization.yaml');
  return (k?.resources ?? []) as string[];
}

/** Every object `kubectl apply -k deploy/kubernetes` would send. */
export function appliedObjects(): K8sObject[] {
  return kustomizationResources().flatMap(readManifest);
}

/** Kinds that live in no namespace. */
export const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

/** The objects of one part of the base by `app.kubernetes.io/component`: `api`, `agent` or `gateway`. */
export function componentObjects(component: string): K8sObject[] {
  return appliedObjects().filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === component);
}

/** The API's own objects (the collectors have a Deployment, Services and NetworkPolicies too). */
export const apiObjects = () => componentObjects('api');

export function only(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as K8sObject;
}

/**
 * The environment the image itself sets (ENV of the Dockerfile's last stage): a pod starts with these
 * and the Deployment's variables on top, and Kubernetes cannot unset them.
 */
export function imageEnvironment(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = text.split(/^FROM /m);
  const last = stages[stages.length - 1] ?? '';
  const env: Record<string, string> = {};
  for (const line of last.split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (!m?.[1]) continue;
    for (const [, k, v] of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
      if (k !== undefined && v !== undefined) env[k] = v.replace(/^"(.*)"$/, '$1');
  }
  return env;
}

/** Values for the Secret's keys, shaped like real ones (config.ts checks lengths and URLs). */
export const SECRET_VALUES: Readonly<Record<string, string>> = {
  API_TOKENS: 'k8s-test-api-token-0123456789abcdef',
  ADMIN_TOKEN: 'k8s-test-admin-token-0123456789abcdef0123',
  SENTRY_DSN: 'http://public@127.0.0.1:9/1',
  DATABASE_PASSWORD: 'k8s-test-database-password',
};

/** The ConfigMap data the container takes through envFrom. */
export function configMapEnvironment(): Record<string, string> {
  const objects = apiObjects();
  const container = only(objects, 'Deployment').spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    assert.ok(name, 'envFrom other than a ConfigMap');
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    assert.ok(cm, `envFrom names ConfigMap ${name}, which the base does not contain`);
    Object.assign(env, cm.data);
  }
  return env;
}

/** The files the pod's Secret volumes provide, by path in the container, as `secretName/key`. */
function mountedSecretFiles(): Map<string, string> {
  const pod = only(apiObjects(), 'Deployment').spec.template.spec;
  const container = pod.containers[0];
  const files = new Map<string, string>();
  for (const m of container.volumeMounts ?? []) {
    const secret = pod.volumes.find((v: K8sObject) => v.name === m.name)?.secret;
    if (!secret) continue;
    for (const item of secret.items ?? [])
      files.set(`${m.mountPath}/${item.path}`, `${secret.secretName}/${item.key}`);
  }
  return files;
}

/**
 * The environment the process sees in the pod: the image's ENV, then the ConfigMap, then `env`
 * (secret references resolved to test values). Files named by *_FILE variables are written to a
 * temporary directory standing in for the Secret volume.
 */
export function podEnvironment(dir: string): Record<string, string> {
  const container = only(apiObjects(), 'Deployment').spec.template.spec.containers[0];
  const env: Record<string, string> = { ...imageEnvironment(), ...configMapEnvironment() };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) env[e.name] = SECRET_VALUES[ref.key] ?? assert.fail(`no test value for Secret key ${ref.key}`);
  }
  const mounted = mountedSecretFiles();
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith('_FILE')) continue;
    const source = mounted.get(value);
    assert.ok(source, `${name}=${value} is not a file any Secret volume provides`);
    const key = source.split('/')[1] ?? '';
    const file = join(dir, name);
    writeFileSync(file, SECRET_VALUES[key] ?? assert.fail(`no test value for Secret key ${key}`));
    env[name] = file;
  }
  return env;
}

/** A pod as NetworkPolicy sees it: its namespace, its labels and its named container ports. */
export interface PolicyPeer {
  namespace: string;
  labels: Record<string, string>;
  ports?: { name: string; containerPort: number }[];
}

const matches = (selector: K8sObject | undefined, labels: Record<string, string>) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
  (selector?.matchExpressions ?? []).length === 0;

/** The labels a namespace of the base carries, with the one Kubernetes adds to every namespace. */
function namespaceLabels(name: string): Record<string, string> {
  const ns = appliedObjects().find((o) => o.kind === 'Namespace' && o.metadata.name === name);
  return { ...ns?.metadata.labels, 'kubernetes.io/metadata.name': name };
}

/**
 * Whether `policy` lets `peer` in (Ingress, to a pod the policy selects) or out (Egress, to `peer`) on
 * TCP `port`, named ports resolved on the receiving pod. The pod-to-pod subset of the NetworkPolicy
 * semantics this base uses: matchLabels selectors, no ipBlock for pods, no matchExpressions.
 */
export function admits(
  policy: K8sObject,
  direction: 'Ingress' | 'Egress',
  peer: PolicyPeer,
  port: number,
  receiver: PolicyPeer,
): boolean {
  const rules: K8sObject[] = policy.spec[direction === 'Ingress' ? 'ingress' : 'egress'] ?? [];
  const peerMatches = (p: K8sObject) => {
    if (p.ipBlock) return false;
    const inNamespace = p.namespaceSelector
      ? matches(p.namespaceSelector, namespaceLabels(peer.namespace))
      : peer.namespace === policy.metadata.namespace;
    return inNamespace && (!p.podSelector || matches(p.podSelector, peer.labels));
  };
  const portMatches = (p: K8sObject) =>
    (p.protocol ?? 'TCP') === 'TCP' &&
    (p.port === undefined ||
      p.port === port ||
      receiver.ports?.find((c) => c.name === p.port)?.containerPort === port);
  return rules.some((r) => {
    const peers: K8sObject[] | undefined = direction === 'Ingress' ? r.from : r.to;
    return (!peers || peers.some(peerMatches)) && (!r.ports || r.ports.some(portMatches));
  });
}

/** A workload's pod as a policy peer. */
export function podOf(workload: K8sObject): PolicyPeer {
  return {
    namespace: workload.metadata.namespace,
    labels: workload.spec.template.metadata.labels,
    ports: workload.spec.template.spec.containers.flatMap((c: K8sObject) => c.ports ?? []),
  };
}
