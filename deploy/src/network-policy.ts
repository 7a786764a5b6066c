// Who may talk to the pods and whom they may call: the API port from anywhere, /metrics from the
// monitoring namespace's Prometheus only; out to DNS, Redis, PostgreSQL, the node's collector agent and Sentry.
import {
  type INetworkPolicyEgressRule,
  type INetworkPolicyIngressRule,
  NetworkPolicy,
} from 'kubernetes-models/networking.k8s.io/v1';
import { PEERS } from './environment.ts';
import { meta, SELECTOR_LABELS } from './identity.ts';

// Every namespace carries this label (Kubernetes >= 1.22), so a namespace is selected by its name.
export const inNamespace = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

/** Pods with these labels in that namespace. */
export const peer = (p: { namespace: string; podLabels: Readonly<Record<string, string>> }) => ({
  namespaceSelector: inNamespace(p.namespace),
  podSelector: { matchLabels: { ...p.podLabels } },
});

/** Ingress: the monitoring namespace's Prometheus scrapes the named port `metrics`. */
export const prometheusScrape = (): INetworkPolicyIngressRule => ({
  from: [peer(PEERS.prometheus)],
  ports: [{ port: 'metrics', protocol: 'TCP' }],
});

/** Egress: cluster DNS, UDP and TCP (answers too large for UDP retry over TCP). */
export const dnsEgress = (): INetworkPolicyEgressRule => ({
  to: [peer(PEERS.dns)],
  ports: [
    { port: PEERS.dns.port, protocol: 'UDP' },
    { port: PEERS.dns.port, protocol: 'TCP' },
  ],
});

export function networkPolicy() {
  return new NetworkPolicy({
    metadata: meta(),
    spec: {
      podSelector: { matchLabels: { ...SELECTOR_LABELS } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        // The ingress controller, other services and the kubelet's probes reach the API port.
        { ports: [{ port: 'http', protocol: 'TCP' }] },
        prometheusScrape(),
      ],
      egress: [
        dnsEgress(),
        // A podSelector alone means "in this policy's namespace", wherever the base is applied.
        {
          to: [{ podSelector: { matchLabels: { ...PEERS.redis.podLabels } } }],
          ports: [{ port: PEERS.redis.port, protocol: 'TCP' }],
        },
        {
          to: [{ podSelector: { matchLabels: { ...PEERS.postgres.podLabels } } }],
          ports: [{ port: PEERS.postgres.port, protocol: 'TCP' }],
        },
        // Policies see Service traffic after it is rewritten to the pod: the agent pods, not its ClusterIP.
        { to: [peer(PEERS.agent)], ports: [{ port: PEERS.agent.port, protocol: 'TCP' }] },
        // Sentry (SENTRY_DSN) is outside the cluster: HTTPS to public addresses only. Without this
        // rule error reports are dropped silently; remove it if you do not use Sentry.
        {
          to: [
            {
              ipBlock: {
                cidr: '0.0.0.0/0',
                except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'],
              },
            },
          ],
          ports: [{ port: 443, protocol: 'TCP' }],
        },
      ],
    },
  });
}
