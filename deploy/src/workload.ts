// The workload: ServiceAccount, ConfigMap, Deployment, Service, HorizontalPodAutoscaler and
// PodDisruptionBudget. Probe paths, ports and the grace period come from the service's own modules.
import { createHash } from 'node:crypto';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { SHUTDOWN_DEFAULTS } from '../../service/src/config.ts';
import { HEALTH_PATH } from '../../service/src/health/routes.ts';
import { CONFIG, DB_PASSWORD_DIR, DB_PASSWORD_FILE, PORTS, SECRET_KEYS, SECRET_NAME } from './environment.ts';
import { IMAGE, IMAGE_UID, LABELS, meta, NAME, SELECTOR_LABELS } from './identity.ts';

/** Liveness and start-up answer while the process runs; readiness also checks the database and drain. */
export const PROBE_PATHS = { live: HEALTH_PATH, ready: `${HEALTH_PATH}/ready` } as const;

/**
 * The kubelet sends SIGKILL this long after SIGTERM. The service's own deadline is SHUTDOWN_DELAY_MS
 * (readiness 503 while load balancers catch up) + SHUTDOWN_TIMEOUT_MS (drain, flush telemetry, close
 * stores); the margin leaves room for the exit itself, so a pod is never killed mid-drain.
 */
export const GRACE_MARGIN_SECONDS = 10;
export const TERMINATION_GRACE_PERIOD_SECONDS =
  Math.ceil((SHUTDOWN_DEFAULTS.productionDelayMs + SHUTDOWN_DEFAULTS.timeoutMs) / 1000) +
  GRACE_MARGIN_SECONDS;

export const HPA = { minReplicas: 2, maxReplicas: 10, cpuUtilization: 70 } as const;

export function serviceAccount() {
  // The service never talks to the Kubernetes API: no token in the pod.
  return new ServiceAccount({ metadata: meta(), automountServiceAccountToken: false });
}

export function configMap() {
  return new ConfigMap({ metadata: meta('config'), data: { ...CONFIG } });
}

const secretEnv = (name: string, optional = false) => ({
  name,
  valueFrom: { secretKeyRef: { name: SECRET_NAME, key: name, ...(optional ? { optional } : {}) } },
});

export function deployment() {
  const config = configMap();
  // Plain YAML has no configMapGenerator hash: a checksum in the pod template rolls the pods when
  // the configuration changes.
  const configChecksum = createHash('sha256').update(JSON.stringify(config.data)).digest('hex');
  const httpGet = (path: string) => ({ path, port: 'http' });
  return new Deployment({
    metadata: meta(),
    spec: {
      // No `replicas`: the HorizontalPodAutoscaler owns it, and `kubectl apply` must not reset it.
      revisionHistoryLimit: 5,
      selector: { matchLabels: { ...SELECTOR_LABELS } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...LABELS }, annotations: { 'checksum/config': configChecksum } },
        spec: {
          serviceAccountName: NAME,
          automountServiceAccountToken: false,
          // Service links would add <SERVICE>_PORT variables for every Service in the namespace.
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_PERIOD_SECONDS,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: IMAGE_UID,
            runAsGroup: IMAGE_UID,
            // Mounted Secret files are group-readable by the image's user.
            fsGroup: IMAGE_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: { ...SELECTOR_LABELS } },
              // Spread each revision on its own, so a rollout does not pile new pods on one node.
              matchLabelKeys: ['pod-template-hash'],
            },
            {
              maxSkew: 1,
              topologyKey: 'topology.kubernetes.io/zone',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: { ...SELECTOR_LABELS } },
              matchLabelKeys: ['pod-template-hash'],
            },
          ],
          containers: [
            {
              name: 'api',
              image: IMAGE,
              imagePullPolicy: 'IfNotPresent',
              ports: [
                { name: 'http', containerPort: PORTS.http, protocol: 'TCP' },
                { name: 'metrics', containerPort: PORTS.metrics, protocol: 'TCP' },
              ],
              envFrom: [{ configMapRef: { name: config.metadata?.name ?? '' } }],
              env: [
                secretEnv(SECRET_KEYS.apiTokens),
                secretEnv(SECRET_KEYS.adminToken),
                // Sentry stays off when the key is absent.
                secretEnv(SECRET_KEYS.sentryDsn, true),
              ],
              // Up to 60 s to start (migrations included) before liveness takes over.
              startupProbe: { httpGet: httpGet(PROBE_PATHS.live), periodSeconds: 2, failureThreshold: 30 },
              livenessProbe: {
                httpGet: httpGet(PROBE_PATHS.live),
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: httpGet(PROBE_PATHS.ready),
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 2,
              },
              resources: {
                requests: { cpu: '250m', memory: '192Mi' },
                limits: { cpu: '1', memory: '384Mi' },
              },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: IMAGE_UID,
                runAsGroup: IMAGE_UID,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                privileged: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              // No writable volume at all: items live in PostgreSQL, logs go to stdout, telemetry over
              // the network, and test/deploy/pod.test.ts runs the image command on a read-only root with
              // nothing writable. A library that writes to os.tmpdir() needs an emptyDir on /tmp here.
              volumeMounts: [{ name: 'db-password', mountPath: DB_PASSWORD_DIR, readOnly: true }],
            },
          ],
          volumes: [
            {
              name: 'db-password',
              secret: {
                secretName: SECRET_NAME,
                items: [
                  {
                    key: SECRET_KEYS.databasePassword,
                    path: DB_PASSWORD_FILE.slice(DB_PASSWORD_DIR.length + 1),
                  },
                ],
                defaultMode: 0o440,
              },
            },
          ],
        },
      },
    },
  });
}

export function service() {
  return new Service({
    metadata: meta(),
    spec: {
      type: 'ClusterIP',
      selector: { ...SELECTOR_LABELS },
      ports: [
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        // Only for the ServiceMonitor; the NetworkPolicy admits Prometheus alone to it.
        { name: 'metrics', port: PORTS.metrics, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  });
}

export function horizontalPodAutoscaler() {
  return new HorizontalPodAutoscaler({
    metadata: meta(),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAME },
      minReplicas: HPA.minReplicas,
      maxReplicas: HPA.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: HPA.cpuUtilization } },
        },
      ],
    },
  });
}

export function podDisruptionBudget() {
  return new PodDisruptionBudget({
    metadata: meta(),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: { ...SELECTOR_LABELS } },
      // A pod that never became ready must not block a node drain.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}
