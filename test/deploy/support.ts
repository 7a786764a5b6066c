// Reads the committed manifests under deploy/kubernetes the way kubectl would, and finds each
// object's typed model (whose validate() checks it against the Kubernetes or CRD OpenAPI schema).
import { strict as assert } from 'node:assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

export const ROOT = join(import.meta.dirname, '..', '..');
export const K8S_DIR = join(ROOT, 'deploy', 'kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: each model takes its own object shape.
type ModelClass = new (data: any) => { validate(): void };

/** Every kind the base may contain, by `apiVersion/kind`; anything else has no schema here. */
export const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
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
  const objects = appliedObjects();
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
  const pod = only(appliedObjects(), 'Deployment').spec.template.spec;
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
  const container = only(appliedObjects(), 'Deployment').spec.template.spec.containers[0];
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
