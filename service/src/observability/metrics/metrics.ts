// The Prometheus metric contract (docs/contract.md): every metric the service exposes is declared here.
import { getHeapStatistics } from 'node:v8';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { createEventLoopWindow } from './event-loop.ts';

// Bucket boundaries advised by the OTel semantic conventions for http.server.request.duration.
export const HTTP_DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];
// ... and for db.client.operation.duration.
export const DB_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

export const SECURITY_EVENT_TYPES = [
  'unauthorized',
  'forbidden',
  'rate_limited',
  'cors_rejected',
  'validation_failed',
  'body_too_large',
  'malformed_body',
  'unsupported_media_type',
  // A client's malformed input that is not one of the above: bad path encoding, invalid text,
  // bytes Node's HTTP parser refuses, a head over HTTP_MAX_HEADER_BYTES.
  'invalid_input',
  // A client that did not send its head or body within HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS.
  'request_timeout',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

/** What a database pool reports for the db_client_connection_* gauges. */
export interface DbPoolStats {
  readonly idle: number;
  readonly used: number;
  readonly pending: number;
  readonly max: number;
}

export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
}

/** Every metric of the service in one classic registry, declared domain by domain below. */
export function createMetrics(build: BuildInfo) {
  const registry = new Registry();
  defaultMetrics(registry);
  return {
    registry,
    ...httpServerMetrics(registry),
    ...httpClientMetrics(registry),
    ...databaseMetrics(registry),
    ...securityEventMetrics(registry),
    ...processMetrics(registry, build),
    ...telemetryMetrics(registry),
    ...rateLimitMetrics(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** prom-client's process and Node.js metrics, without the ones that mislead. */
function defaultMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  // These three gauges repeat the per-type gauges of the same name without the suffix, and a
  // gauge ending in _total is flagged by `promtool check metrics`; the per-type ones stay.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  // They include prom-client's 10 ms sampling interval: an idle process reads ~10 ms of "lag"
  // (event-loop.ts). nodejs_eventloop_lag_seconds, one setImmediate round trip, has none and stays.
  for (const stat of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'])
    registry.removeSingleMetric(`nodejs_eventloop_lag_${stat}_seconds`);
}

// Exemplars (trace_id, span_id) link a latency bucket to a trace. prom-client accepts an
// exemplar-enabled metric only in an OpenMetrics registry; registered by hand, it keeps this registry
// classic while metrics-exposition.ts renders OpenMetrics with the exemplars for scrapers that ask.
function httpServerMetrics(registry: Registry) {
  const httpRequestDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    enableExemplars: true,
    registers: [],
  });
  registry.registerMetric(httpRequestDuration);
  const httpActiveRequests = new Gauge({
    name: 'http_server_active_requests',
    help: 'Number of HTTP server requests in flight.',
    registers: [registry],
  });
  return { httpRequestDuration, httpActiveRequests };
}

/** Outgoing calls (http-client-metrics.ts), fetch() and node:http alike. */
function httpClientMetrics(registry: Registry) {
  const httpClientRequestDuration = new Histogram({
    name: 'http_client_request_duration_seconds',
    help: 'Duration of outgoing HTTP requests (fetch and node:http), until the response head or the error.',
    labelNames: ['http_request_method', 'server_address', 'http_response_status_code', 'error_type'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    enableExemplars: true,
    registers: [],
  });
  registry.registerMetric(httpClientRequestDuration);
  return { httpClientRequestDuration };
}

function databaseMetrics(registry: Registry) {
  const dbOperationDuration = new Histogram({
    name: 'db_client_operation_duration_seconds',
    help: 'Duration of database client operations (SQLite or PostgreSQL queries, Redis rate-limit commands).',
    labelNames: ['db_system_name', 'db_operation_name', 'db_collection_name', 'error_type'] as const,
    buckets: DB_DURATION_BUCKETS,
    registers: [registry],
  });
  const dbConnectionTimeouts = new Counter({
    name: 'db_client_connection_timeouts_total',
    help: 'Times no PostgreSQL connection was had within DATABASE_CONNECT_TIMEOUT_MS (pool wait or connect).',
    registers: [],
  });
  // Registered only once a pool reports: an unlabelled metric always shows a 0, and a SQLite
  // instance has no pool to report on.
  let poolStats: () => DbPoolStats = () => ({ idle: 0, used: 0, pending: 0, max: 0 });
  let poolRegistered = false;
  const observeDbPool = (stats: () => DbPoolStats) => {
    poolStats = stats;
    if (poolRegistered) return;
    poolRegistered = true;
    for (const m of [...dbPoolGauges(() => poolStats()), dbConnectionTimeouts]) registry.registerMetric(m);
  };
  return { dbOperationDuration, dbConnectionTimeouts, observeDbPool };
}

/** The PostgreSQL pool as semconv's db.client.connection.*, read from `stats` at each scrape. */
function dbPoolGauges(stats: () => DbPoolStats) {
  return [
    new Gauge({
      name: 'db_client_connection_count',
      help: 'PostgreSQL pool connections by state (idle, used).',
      labelNames: ['state'] as const,
      registers: [],
      collect() {
        const s = stats();
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'used' }, s.used);
      },
    }),
    new Gauge({
      name: 'db_client_connection_pending_requests',
      help: 'Queries waiting for a free PostgreSQL pool connection.',
      registers: [],
      collect() {
        this.set(stats().pending);
      },
    }),
    new Gauge({
      name: 'db_client_connection_max',
      help: 'Most connections the PostgreSQL pool may open (DATABASE_POOL_MAX).',
      registers: [],
      collect() {
        this.set(stats().max);
      },
    }),
  ];
}

function securityEventMetrics(registry: Registry) {
  const securityEvents = new Counter({
    name: 'security_events_total',
    help: 'Security-relevant rejections, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  // Zero-initialise every type so rate() and absent() behave from the first scrape.
  for (const type of SECURITY_EVENT_TYPES) securityEvents.inc({ type }, 0);
  return { securityEvents };
}

/** The build, the heap limit and the event loop. */
function processMetrics(registry: Registry, build: BuildInfo) {
  const buildInfo = new Gauge({
    name: 'service_build_info',
    help: 'Always 1; labels carry the build.',
    labelNames: ['version', 'revision', 'nodejs_version'] as const,
    registers: [registry],
  });
  buildInfo.set({ version: build.version, revision: build.revision, nodejs_version: process.version }, 1);
  // prom-client reports heap used/total but not the limit V8 will die at; alerts need the ratio.
  new Gauge({
    name: 'nodejs_heap_size_limit_bytes',
    help: 'V8 heap size limit (heap_size_limit) in bytes.',
    registers: [registry],
    collect() {
      this.set(getHeapStatistics().heap_size_limit);
    },
  });
  eventLoopMetrics(registry);
  return { buildInfo };
}

/** Delay beyond the sampling interval and utilisation, over the time since the previous scrape. */
function eventLoopMetrics(registry: Registry): void {
  const loop = createEventLoopWindow();
  // Registered before the three delay gauges it sets: a scrape reads metrics in registration order,
  // so one reading sets all four before any is read, then the window restarts.
  new Gauge({
    name: 'nodejs_eventloop_utilization_ratio',
    help: 'Share of the time since the last scrape the event loop spent running callbacks (0..1).',
    registers: [registry],
    collect() {
      const r = loop.read();
      loop.restart();
      this.set(r.utilization);
      loopP50.set(r.delayBeyondIntervalMs.p50 / 1000);
      loopP99.set(r.delayBeyondIntervalMs.p99 / 1000);
      loopMax.set(r.delayBeyondIntervalMs.max / 1000);
    },
  });
  const loopDelay = (stat: 'p50' | 'p99' | 'max', what: string) =>
    new Gauge({
      name: `nodejs_eventloop_delay_beyond_interval_${stat}_seconds`,
      help: `Event-loop delay beyond the sampling interval, ${what} since the last scrape.`,
      registers: [registry],
    });
  const loopP50 = loopDelay('p50', 'median');
  const loopP99 = loopDelay('p99', '99th percentile');
  const loopMax = loopDelay('max', 'maximum');
}

function telemetryMetrics(registry: Registry) {
  // The ESM self-check (instrumentation.ts): 1 when the instrumentation really patched its module.
  const instrumentationPatched = new Gauge({
    name: 'telemetry_instrumentation_patched',
    help: '1 when the named OpenTelemetry instrumentation patched its module, 0 when it did not.',
    labelNames: ['instrumentation'] as const,
    registers: [registry],
  });
  return { instrumentationPatched };
}

/** Which backend each tier runs on, and what it decided (docs/contract.md). */
function rateLimitMetrics(registry: Registry) {
  const rateLimitDecisions = new Counter({
    name: 'rate_limit_decisions_total',
    help: 'Rate-limit decisions per tier: allowed, rejected (429) or unavailable (fail-closed 503).',
    labelNames: ['tier', 'decision', 'backend'] as const,
    registers: [registry],
  });
  const rateLimitBackend = new Gauge({
    name: 'rate_limit_backend',
    help: '1 for the backend each rate-limit tier currently uses (redis, memory or unavailable), 0 otherwise.',
    labelNames: ['tier', 'backend'] as const,
    registers: [registry],
  });
  const rateLimitDegraded = new Gauge({
    name: 'rate_limit_degraded',
    help: '1 while a Redis-backed tier runs on its in-memory fallback or fails closed.',
    labelNames: ['tier'] as const,
    registers: [registry],
  });
  return { rateLimitDecisions, rateLimitBackend, rateLimitDegraded };
}
