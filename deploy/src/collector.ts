// The two collector tiers' shared identity: namespace, names, labels, ports, image, and the pieces every
// collector pod repeats (its config as a ConfigMap, a locked-down container, health probes).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ConfigMap, type IContainerPort, type ISecurityContext } from 'kubernetes-models/v1';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..', '..');

/** Both tiers live here, labelled Pod Security `privileged` because the agent reads the node's logs. */
export const COLLECTOR_NAMESPACE = 'observability';

/** The collector configs, one file per tier, which the ConfigMaps carry unchanged. */
export const COLLECTOR_CONFIG_DIR = join(ROOT, 'observability', 'collector');

/** The image's release is the one observability/collector-builder.yaml builds for the tests. */
const builder = parse(readFileSync(join(ROOT, 'observability', 'collector-builder.yaml'), 'utf8')) as {
  dist: { version: string };
};
export const COLLECTOR_IMAGE = `otel/opentelemetry-collector-contrib:${builder.dist.version}`;

/** The contrib image's own non-root user. */
export const COLLECTOR_UID = 10001;

/** The health_check extension's port (the configs' default endpoint). */
export const HEALTH_PORT = 13133;

/** The collector's own metrics (the configs' service.telemetry default), scraped by the PodMonitor. */
export const METRICS_PORT = 8888;

const tier = <P extends Record<string, number>>(name: string, component: string, ports: P) => {
  const selectorLabels = {
    'app.kubernetes.io/name': 'opentelemetry-collector',
    'app.kubernetes.io/component': component,
  };
  return {
    name,
    configFile: `${component}.yaml`,
    ports,
    selectorLabels,
    labels: {
      ...selectorLabels,
      'app.kubernetes.io/instance': name,
      'app.kubernetes.io/managed-by': 'kustomize',
    },
  } as const;
};

/** The DaemonSet: one per node, reached by the node's pods through the Service of the same name. */
export const AGENT = tier('otel-agent', 'agent', { otlpGrpc: 4317, otlpHttp: 4318 });

/** The Deployment behind the agents' loadbalancing exporter (headless Service) and a plain Service. */
export const GATEWAY = {
  ...tier('otel-gateway', 'gateway', { otlpGrpc: 4317 }),
  headlessService: 'otel-gateway-headless',
} as const;

type Tier = typeof AGENT | typeof GATEWAY;

export function collectorMeta(t: Tier, suffix?: string) {
  return {
    name: suffix ? `${t.name}-${suffix}` : t.name,
    namespace: COLLECTOR_NAMESPACE,
    labels: { ...t.labels },
  };
}

export function collectorConfigMap(t: Tier) {
  const text = readFileSync(join(COLLECTOR_CONFIG_DIR, t.configFile), 'utf8');
  return new ConfigMap({ metadata: collectorMeta(t, 'config'), data: { [t.configFile]: text } });
}

/**
 * The gateway's share policy draws its line on the trace id's randomness by the OTel threshold rule
 * (`ot=th` in tracestate), the line the services draw for their exemplars (observability/collector/gateway.yaml).
 */
export const GATEWAY_FEATURE_GATES = ['processor.tailsamplingprocessor.usetracestate'];

/** The share of traces kept that are neither errors nor slow (the gateway config's default too). */
export const TAIL_SAMPLING_RATIO_PERCENT = 10;

/** Where the config is mounted, and the collector's arguments that load it. */
export const CONFIG_MOUNT = '/etc/otelcol';
export const collectorArgs = (t: Tier, featureGates: readonly string[] = []) => [
  `--config=${CONFIG_MOUNT}/${t.configFile}`,
  ...(featureGates.length > 0 ? [`--feature-gates=${featureGates.join(',')}`] : []),
];

/** Plain YAML has no configMapGenerator hash: a checksum in the pod template rolls the pods on a change. */
export const checksum = (c: ConfigMap) => createHash('sha256').update(JSON.stringify(c.data)).digest('hex');

/**
 * The Go runtime's soft memory limit at 80 % of the container's, as the collector's Helm chart sets it:
 * the garbage collector works harder before the kernel's OOM killer would act.
 */
export function goMemLimit(limitMi: number) {
  return { name: 'GOMEMLIMIT', value: `${Math.floor(limitMi * 0.8)}MiB` };
}

/** health_check answers 200 once every pipeline has started; the kubelet asks it for both probes. */
export const probes = {
  livenessProbe: {
    httpGet: { path: '/', port: 'health' },
    periodSeconds: 10,
    timeoutSeconds: 3,
    failureThreshold: 3,
  },
  readinessProbe: {
    httpGet: { path: '/', port: 'health' },
    periodSeconds: 5,
    timeoutSeconds: 3,
    failureThreshold: 2,
  },
} as const;

/** Nothing a collector needs: no capability, no escalation, no writes outside its volumes. */
export const lockedDown = (): ISecurityContext => ({
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

export const configVolume = (c: ConfigMap) => ({
  name: 'config',
  configMap: { name: c.metadata?.name ?? '' },
});
export const configMount = { name: 'config', mountPath: CONFIG_MOUNT, readOnly: true };

/** Ports both tiers have besides their OTLP ones. */
export const commonPorts = (): IContainerPort[] => [
  { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
  { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
];

/**
 * Both tiers' own metrics (accepted, refused and dropped spans and records, queue sizes, sampling
 * decisions): what says the pipeline itself is losing data.
 */
export function collectorPodMonitor() {
  return new PodMonitor({
    metadata: {
      name: 'otel-collector',
      namespace: COLLECTOR_NAMESPACE,
      labels: {
        'app.kubernetes.io/name': 'opentelemetry-collector',
        'app.kubernetes.io/managed-by': 'kustomize',
      },
    },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'opentelemetry-collector' } },
      podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
    },
  });
}
