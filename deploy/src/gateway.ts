// The gateway: a Deployment the agents reach through a headless Service, one replica per trace id (the
// agents' loadbalancing exporter), so tail sampling sees whole traces; it exports to Tempo and Loki.
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import {
  AGENT,
  COLLECTOR_IMAGE,
  COLLECTOR_UID,
  checksum,
  collectorArgs,
  collectorConfigMap,
  collectorMeta,
  commonPorts,
  configMount,
  configVolume,
  GATEWAY,
  GATEWAY_FEATURE_GATES,
  goMemLimit,
  lockedDown,
  probes,
  TAIL_SAMPLING_RATIO_PERCENT,
} from './collector.ts';
import { PEERS } from './environment.ts';
import { dnsEgress, peer, prometheusScrape } from './network-policy.ts';

export const GATEWAY_REPLICAS = 2;

// Tail sampling holds every trace in memory until its decision: the largest user of the limit.
const MEMORY_LIMIT_MI = 1024;

export function gatewayServiceAccount() {
  // The gateway never talks to the Kubernetes API: no token in the pod.
  return new ServiceAccount({ metadata: collectorMeta(GATEWAY), automountServiceAccountToken: false });
}

export const gatewayConfigMap = () => collectorConfigMap(GATEWAY);

export function gatewayDeployment() {
  const config = gatewayConfigMap();
  const spread = (topologyKey: string, whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway') => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
    labelSelector: { matchLabels: { ...GATEWAY.selectorLabels } },
    matchLabelKeys: ['pod-template-hash'],
  });
  return new Deployment({
    metadata: collectorMeta(GATEWAY),
    spec: {
      replicas: GATEWAY_REPLICAS,
      revisionHistoryLimit: 5,
      selector: { matchLabels: { ...GATEWAY.selectorLabels } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...GATEWAY.labels }, annotations: { 'checksum/config': checksum(config) } },
        spec: {
          serviceAccountName: GATEWAY.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // Room for the traces waiting for their decision to be decided and flushed.
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: COLLECTOR_UID,
            runAsGroup: COLLECTOR_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          // Replicas on different nodes (and zones when possible), so one node's loss leaves a gateway.
          topologySpreadConstraints: [
            spread('kubernetes.io/hostname', 'DoNotSchedule'),
            spread('topology.kubernetes.io/zone', 'ScheduleAnyway'),
          ],
          containers: [
            {
              name: 'otelcol',
              image: COLLECTOR_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              args: collectorArgs(GATEWAY, GATEWAY_FEATURE_GATES),
              ports: [
                { name: 'otlp-grpc', containerPort: GATEWAY.ports.otlpGrpc, protocol: 'TCP' },
                ...commonPorts(),
              ],
              env: [
                { name: 'TEMPO_OTLP_ENDPOINT', value: PEERS.tempo.endpoint },
                { name: 'LOKI_OTLP_ENDPOINT', value: PEERS.loki.url },
                { name: 'TAIL_SAMPLING_RATIO_PERCENT', value: String(TAIL_SAMPLING_RATIO_PERCENT) },
                goMemLimit(MEMORY_LIMIT_MI),
              ],
              ...probes,
              resources: {
                requests: { cpu: '250m', memory: '512Mi' },
                limits: { cpu: '1', memory: `${MEMORY_LIMIT_MI}Mi` },
              },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: COLLECTOR_UID,
                runAsGroup: COLLECTOR_UID,
                ...lockedDown(),
              },
              volumeMounts: [configMount],
            },
          ],
          volumes: [configVolume(config)],
        },
      },
    },
  });
}

/**
 * For the agents' loadbalancing exporter: DNS answers with the ready gateway pods' own addresses, so
 * the exporter hashes each trace id onto one of them.
 */
export function gatewayHeadlessService() {
  return new Service({
    metadata: { ...collectorMeta(GATEWAY), name: GATEWAY.headlessService },
    spec: {
      clusterIP: 'None',
      selector: { ...GATEWAY.selectorLabels },
      ports: [{ name: 'otlp-grpc', port: GATEWAY.ports.otlpGrpc, targetPort: 'otlp-grpc', protocol: 'TCP' }],
    },
  });
}

/** A plain ClusterIP, for senders that need no trace affinity. */
export function gatewayService() {
  return new Service({
    metadata: collectorMeta(GATEWAY),
    spec: {
      type: 'ClusterIP',
      selector: { ...GATEWAY.selectorLabels },
      ports: [{ name: 'otlp-grpc', port: GATEWAY.ports.otlpGrpc, targetPort: 'otlp-grpc', protocol: 'TCP' }],
    },
  });
}

export function gatewayPodDisruptionBudget() {
  return new PodDisruptionBudget({
    metadata: collectorMeta(GATEWAY),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: { ...GATEWAY.selectorLabels } },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}

export function gatewayNetworkPolicy() {
  return new NetworkPolicy({
    metadata: collectorMeta(GATEWAY),
    spec: {
      podSelector: { matchLabels: { ...GATEWAY.selectorLabels } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        // Only the agents send here (a podSelector alone: this namespace).
        {
          from: [{ podSelector: { matchLabels: { ...AGENT.selectorLabels } } }],
          ports: [{ port: 'otlp-grpc', protocol: 'TCP' }],
        },
        // The kubelet's probes come from the node, which no selector names.
        { ports: [{ port: 'health', protocol: 'TCP' }] },
        prometheusScrape(),
      ],
      egress: [
        dnsEgress(),
        { to: [peer(PEERS.tempo)], ports: [{ port: PEERS.tempo.port, protocol: 'TCP' }] },
        { to: [peer(PEERS.loki)], ports: [{ port: PEERS.loki.port, protocol: 'TCP' }] },
      ],
    },
  });
}

export const gatewayObjects = () => [
  gatewayServiceAccount(),
  gatewayConfigMap(),
  gatewayDeployment(),
  gatewayHeadlessService(),
  gatewayService(),
  gatewayPodDisruptionBudget(),
  gatewayNetworkPolicy(),
];
