// The pod's configuration: ports, the dependencies' addresses (documented placeholders), the ConfigMap
// and the Secret's keys. Every name here is a variable service/src/config.ts reads (a test checks).
import { AGENT, COLLECTOR_NAMESPACE, TAIL_SAMPLING_RATIO_PERCENT } from './collector.ts';
import { NAME } from './identity.ts';

/** Container ports, named so probes, Service, ServiceMonitor and NetworkPolicy refer to them by name. */
export const PORTS = { http: 3000, metrics: 9464 } as const;

/** Where the service's dependencies are. Placeholders: point them at yours (docs/kubernetes.md). */
export const PEERS = {
  /** Redis for the shared rate-limit counters, a Service `redis` in the same namespace. */
  redis: {
    url: 'redis://redis:6379',
    port: 6379,
    podLabels: { 'app.kubernetes.io/name': 'redis' },
  },
  /** PostgreSQL, a Service `postgresql` in the same namespace; the password comes from the Secret. */
  postgres: {
    url: `postgres://${NAME.replaceAll('-', '_')}@postgresql:5432/${NAME.replaceAll('-', '_')}`,
    port: 5432,
    podLabels: { 'app.kubernetes.io/name': 'postgresql' },
  },
  /**
   * The node's collector agent (agent.ts): its OTLP/HTTP port through the Service `otel-agent`, whose
   * `internalTrafficPolicy: Local` keeps the traffic on the pod's own node.
   */
  agent: {
    url: `http://${AGENT.name}.${COLLECTOR_NAMESPACE}.svc:${AGENT.ports.otlpHttp}`,
    port: AGENT.ports.otlpHttp,
    namespace: COLLECTOR_NAMESPACE,
    podLabels: AGENT.selectorLabels,
  },
  /** Tempo's OTLP/gRPC receiver, where the gateway sends the traces it keeps. */
  tempo: {
    endpoint: 'tempo.monitoring.svc:4317',
    port: 4317,
    namespace: 'monitoring',
    podLabels: { 'app.kubernetes.io/name': 'tempo' },
  },
  /** Loki's native OTLP endpoint, where the gateway sends log records. */
  loki: {
    url: 'http://loki.monitoring.svc:3100/otlp',
    port: 3100,
    namespace: 'monitoring',
    podLabels: { 'app.kubernetes.io/name': 'loki' },
  },
  /** The Prometheus that scrapes /metrics: prometheus-operator's pods in `monitoring`. */
  prometheus: {
    namespace: 'monitoring',
    podLabels: { 'app.kubernetes.io/name': 'prometheus' },
  },
  /** Cluster DNS (CoreDNS keeps the kube-dns label). */
  dns: {
    namespace: 'kube-system',
    podLabels: { 'k8s-app': 'kube-dns' },
    port: 53,
  },
} as const;

/** Where the Secret's database password is mounted; DATABASE_PASSWORD_FILE names the file. */
export const DB_PASSWORD_DIR = '/var/run/secrets/db';
export const DB_PASSWORD_FILE = `${DB_PASSWORD_DIR}/password`;

/** The Secret the Deployment reads (created by you, never committed: see secret.example.yaml). */
export const SECRET_NAME = `${NAME}-secrets`;
/** Its keys: the first three become environment variables of the same name, the last a file. */
export const SECRET_KEYS = {
  apiTokens: 'API_TOKENS',
  adminToken: 'ADMIN_TOKEN',
  sentryDsn: 'SENTRY_DSN',
  databasePassword: 'DATABASE_PASSWORD',
} as const;

/**
 * Non-secret configuration, one ConfigMap entry per variable. Shutdown timings are left to
 * config.ts's production defaults, from which the grace period is computed (workload.ts).
 */
export const CONFIG: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  HOST: '0.0.0.0',
  PORT: String(PORTS.http),
  METRICS_HOST: '0.0.0.0',
  METRICS_PORT: String(PORTS.metrics),
  LOG_LEVEL: 'info',
  // One ingress controller in front: the client address is the last X-Forwarded-For hop it adds.
  TRUST_PROXY: '1',
  REDIS_URL: PEERS.redis.url,
  DATABASE_URL: PEERS.postgres.url,
  DATABASE_PASSWORD_FILE: DB_PASSWORD_FILE,
  // Connections per pod; times the HPA's maxReplicas (10) it must stay under PostgreSQL's
  // max_connections (100 by default) with room for migrations and humans.
  DATABASE_POOL_MAX: '5',
  OTEL_SERVICE_NAME: NAME,
  OTEL_EXPORTER_OTLP_ENDPOINT: PEERS.agent.url,
  // JSON: V8's native JSON.stringify instead of the JavaScript protobuf writer on the request thread (a
  // fifth fewer instructions per item-route request, decisions.md); the agent's receiver takes both.
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  // Logs leave by stdout, where the node agent reads them: an OTLP record of each line as well would
  // ship every line twice (and cost ~23 µs a request). Unset it where no node agent runs.
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=production',
  // The gateway's share of the rest: the service links exemplars only within it (one number, two readers).
  TAIL_SAMPLING_RATIO_PERCENT: String(TAIL_SAMPLING_RATIO_PERCENT),
};
