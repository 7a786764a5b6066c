// The node agent: a DaemonSet that reads every pod's log files from the node, adds Kubernetes metadata
// (k8sattributes, hence its RBAC), receives the node's pods' OTLP, and forwards all to the gateway.
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Service, ServiceAccount } from 'kubernetes-models/v1';
import {
  AGENT,
  COLLECTOR_IMAGE,
  COLLECTOR_NAMESPACE,
  checksum,
  collectorArgs,
  collectorConfigMap,
  collectorMeta,
  commonPorts,
  configMount,
  configVolume,
  GATEWAY,
  goMemLimit,
  lockedDown,
  probes,
} from './collector.ts';
import { dnsEgress, prometheusScrape } from './network-policy.ts';

/** The kubelet writes each container's stdout and stderr under this node directory. */
export const POD_LOGS_DIR = '/var/log/pods';

/** filelog's read offsets (file_storage extension), kept on the node so a new agent pod resumes there. */
export const FILELOG_STORAGE_DIR = '/var/lib/otelcol/file_storage';

const MEMORY_LIMIT_MI = 256;

export function agentServiceAccount() {
  return new ServiceAccount({ metadata: collectorMeta(AGENT) });
}

/** What k8sattributes reads to name a record's pod, its namespace and the Deployment above its ReplicaSet. */
export function agentClusterRole() {
  return new ClusterRole({
    metadata: { name: AGENT.name, labels: { ...AGENT.labels } },
    rules: [
      { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
    ],
  });
}

export function agentClusterRoleBinding() {
  return new ClusterRoleBinding({
    metadata: { name: AGENT.name, labels: { ...AGENT.labels } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: AGENT.name },
    subjects: [{ kind: 'ServiceAccount', name: AGENT.name, namespace: COLLECTOR_NAMESPACE }],
  });
}

export const agentConfigMap = () => collectorConfigMap(AGENT);

export function agentDaemonSet() {
  const config = agentConfigMap();
  return new DaemonSet({
    metadata: collectorMeta(AGENT),
    spec: {
      revisionHistoryLimit: 5,
      selector: { matchLabels: { ...AGENT.selectorLabels } },
      // One agent per node at a time: two would read the same files and share one offsets database.
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: {
        metadata: { labels: { ...AGENT.labels }, annotations: { 'checksum/config': checksum(config) } },
        spec: {
          serviceAccountName: AGENT.name,
          // k8sattributes watches pods and namespaces through the API server.
          automountServiceAccountToken: true,
          enableServiceLinks: false,
          // Every node, tainted or not (control plane included): a node without an agent loses its logs.
          tolerations: [{ operator: 'Exists' }],
          terminationGracePeriodSeconds: 30,
          // uid 0, but without a single capability: the kubelet's log files are root's and may be
          // mode 0600 (older CRI-O conmon; containerd writes 0640), and the offsets hostPath is created root-owned.
          securityContext: { runAsUser: 0, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'otelcol',
              image: COLLECTOR_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              args: collectorArgs(AGENT),
              ports: [
                { name: 'otlp-grpc', containerPort: AGENT.ports.otlpGrpc, protocol: 'TCP' },
                { name: 'otlp-http', containerPort: AGENT.ports.otlpHttp, protocol: 'TCP' },
                ...commonPorts(),
              ],
              env: [
                // k8sattributes watches only this node's pods.
                { name: 'K8S_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                // The loadbalancing exporter resolves the gateway pods' addresses from this DNS name.
                {
                  name: 'GATEWAY_HEADLESS_SERVICE',
                  value: `${GATEWAY.headlessService}.${COLLECTOR_NAMESPACE}.svc`,
                },
                { name: 'FILELOG_STORAGE_DIR', value: FILELOG_STORAGE_DIR },
                goMemLimit(MEMORY_LIMIT_MI),
              ],
              ...probes,
              resources: {
                requests: { cpu: '100m', memory: '128Mi' },
                limits: { cpu: '500m', memory: `${MEMORY_LIMIT_MI}Mi` },
              },
              securityContext: { runAsUser: 0, runAsGroup: 0, ...lockedDown() },
              volumeMounts: [
                configMount,
                { name: 'pod-logs', mountPath: POD_LOGS_DIR, readOnly: true },
                { name: 'filelog-offsets', mountPath: FILELOG_STORAGE_DIR },
              ],
            },
          ],
          volumes: [
            configVolume(config),
            { name: 'pod-logs', hostPath: { path: POD_LOGS_DIR, type: 'Directory' } },
            { name: 'filelog-offsets', hostPath: { path: FILELOG_STORAGE_DIR, type: 'DirectoryOrCreate' } },
          ],
        },
      },
    },
  });
}

/**
 * The pods' OTLP endpoint on their own node. `internalTrafficPolicy: Local` sends each pod to its node's
 * agent, like a hostPort would, but keeps a fixed DNS name (no status.hostIP in the app's config),
 * opens nothing on the node's address, and NetworkPolicy sees the agent pod, as it does for any Service.
 */
export function agentService() {
  return new Service({
    metadata: collectorMeta(AGENT),
    spec: {
      type: 'ClusterIP',
      internalTrafficPolicy: 'Local',
      selector: { ...AGENT.selectorLabels },
      ports: [
        { name: 'otlp-grpc', port: AGENT.ports.otlpGrpc, targetPort: 'otlp-grpc', protocol: 'TCP' },
        { name: 'otlp-http', port: AGENT.ports.otlpHttp, targetPort: 'otlp-http', protocol: 'TCP' },
      ],
    },
  });
}

export function agentNetworkPolicy() {
  return new NetworkPolicy({
    metadata: collectorMeta(AGENT),
    spec: {
      podSelector: { matchLabels: { ...AGENT.selectorLabels } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        // OTLP from any pod of the cluster: every service on the node sends here.
        {
          from: [{ namespaceSelector: {} }],
          ports: [
            { port: 'otlp-grpc', protocol: 'TCP' },
            { port: 'otlp-http', protocol: 'TCP' },
          ],
        },
        // The kubelet's probes come from the node, which no selector names.
        { ports: [{ port: 'health', protocol: 'TCP' }] },
        prometheusScrape(),
      ],
      egress: [
        dnsEgress(),
        {
          to: [{ podSelector: { matchLabels: { ...GATEWAY.selectorLabels } } }],
          ports: [{ port: GATEWAY.ports.otlpGrpc, protocol: 'TCP' }],
        },
        // The API server (k8sattributes' watches) is no pod a selector could name: its Service port
        // 443 and the usual endpoint port 6443, at any address.
        {
          ports: [
            { port: 443, protocol: 'TCP' },
            { port: 6443, protocol: 'TCP' },
          ],
        },
      ],
    },
  });
}

/** Apply order: identity and RBAC, config, then the pods and what reaches them. */
export const agentObjects = () => [
  agentServiceAccount(),
  agentClusterRole(),
  agentClusterRoleBinding(),
  agentConfigMap(),
  agentDaemonSet(),
  agentService(),
  agentNetworkPolicy(),
];
