// The two namespaces and the Pod Security level each enforces: the API's the strictest, the collectors'
// the one the node agent needs (hostPath of the node's log directory, read as uid 0).
import { Namespace } from 'kubernetes-models/v1';
import { COLLECTOR_NAMESPACE } from './collector.ts';
import { NAMESPACE } from './identity.ts';

const PSA = 'pod-security.kubernetes.io';

/**
 * Enforced at the rules of the oldest Kubernetes the base supports (a newer release's added checks
 * cannot evict the API's pods on upgrade); warned about and audited at the latest ones.
 */
export function apiNamespace() {
  return new Namespace({
    metadata: {
      name: NAMESPACE,
      labels: {
        [`${PSA}/enforce`]: 'restricted',
        [`${PSA}/enforce-version`]: 'v1.31',
        [`${PSA}/warn`]: 'restricted',
        [`${PSA}/warn-version`]: 'latest',
        [`${PSA}/audit`]: 'restricted',
        [`${PSA}/audit-version`]: 'latest',
      },
    },
  });
}

/**
 * `baseline` already forbids every hostPath volume, and the agent must read /var/log/pods and keep its
 * read offsets on the node: only `privileged` admits it. The gateway's pods would pass `restricted`
 * (a test checks them against it), so nothing else here needs the looser level.
 */
export function collectorNamespace() {
  return new Namespace({
    metadata: {
      name: COLLECTOR_NAMESPACE,
      labels: { [`${PSA}/enforce`]: 'privileged', [`${PSA}/enforce-version`]: 'latest' },
    },
  });
}
