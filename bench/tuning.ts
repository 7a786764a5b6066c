// What was changed in the template to make its request path cheap, and why: rendered into BENCHMARKS.md.
// No number is written here by hand: evidence is computed from the run's own results.
import type { AllocationResults, ThroughputResults } from './lib/report.ts';
import { rows } from './lib/rows.ts';

export interface Tuning {
  readonly change: string;
  readonly where: string;
  readonly why: string;
}

/**
 * The template's choices that keep the request path cheap, each one a library default replaced by
 * configuration. The layer table measures what each remaining layer costs; the naive row is the
 * same libraries with their defaults.
 */
export const TUNING: readonly Tuning[] = [
  {
    change: 'No OTel MeterProvider and no metric exporter',
    where: 'service/src/telemetry/sdk.ts (`metricReaders: []`)',
    why: 'NodeSDK otherwise builds an OTLP metric exporter from the environment, and the HTTP instrumentation then records its own duration histogram on every request next to the Prometheus one; metrics leave the process through /metrics only.',
  },
  {
    change: 'Only the instrumentations the service uses (http for outgoing calls, pino)',
    where: 'service/src/telemetry/sdk.ts',
    why: 'getNodeAutoInstrumentations() patches dozens of modules (fs, dns, net, and the router package a second time for Express 5), each adding spans or wrappers to every request.',
  },
  {
    change: "The server span is the template's own, not the HTTP instrumentation's (issue 20)",
    where: 'service/src/observability/server-span.ts, service/src/server.ts',
    why: "@opentelemetry/instrumentation-http's incoming side wraps the server's `emit` and binds eight listener methods on every request and response object (a map of wrapped listeners per object, own properties added to both), builds metric attributes nobody reads and computes its attributes twice; what it left behind for the garbage collector cost more than the work itself. The template starts the span around the request listener, runs the request's and response's events in its context with one wrapped `emit` each, and names it `METHOD route` from the app's routing when the response closes. No Express instrumentation either: Express layers make no spans.",
  },
  {
    change: 'No Redis span: the limiter outcome is recorded on the server span (issue 20)',
    where: 'service/src/rate-limit/counting.ts',
    why: 'the one Redis round trip per request would be a client span to build, keep and encode for every request; `rate_limit.<tier>` and `rate_limit.backend` on the server span carry what an operator reads from it, and its duration and errors are in `db_client_operation_duration_seconds{db_system_name="redis"}`.',
  },
  {
    change: 'Probes and scrapes create no span and no access line',
    where: 'service/src/telemetry/http-filters.ts, service/src/observability/access-log.ts',
    why: 'liveness probes and `/metrics` scrapes run every few seconds forever; filtered before any work is done.',
  },
  {
    change: 'Sentry for errors only, with an explicit integration list',
    where: 'service/src/telemetry/sentry.ts, service/src/errors/error-reporting.ts',
    why: "no Sentry tracing, no Http integration (it wraps every request a second time, records request sessions and reads request bodies), and no per-request isolation scope (issue 20): an error's tags, breadcrumbs (the request's security span events) and trace ids are added when it is reported, so a request without an error costs Sentry nothing.",
  },
  {
    change: 'Access log serialises method, redacted URL, route, status, duration and request id only',
    where: 'service/src/observability/access-log.ts',
    why: "pino-http's default serialisers copy every header and the remote address into every line, and wrap them in extra objects.",
  },
  {
    change: "Credentials redacted by one walk of the logged object instead of pino's `redact` paths",
    where: 'service/src/observability/logger.ts (`redactSecrets`)',
    why: "pino 10's redactor (@pinojs/redact 0.4) parses every configured path string again on every call, and a `*.key` path makes pino call it for every field of every line, strings and numbers included: in the full template that was the largest single source of garbage per request (the allocation tables above show what a request allocates now). The template walks the log object, each child logger's bindings and each serialiser's result once instead, censoring the same field names at any depth (pino's paths reached one level), copying only the objects on the way to a match: a line without credentials allocates nothing. Proposed upstream fix: parse the paths once when the redactor is built and skip the clone when no path matches (fast-redact, which pino 9 used, compiled them into a function).",
  },
  {
    change: 'helmet without the headers that do nothing for JSON',
    where: 'service/src/http/security-headers.ts',
    why: 'document-only headers (DNS prefetch, download options, XSS auditor, origin agent cluster, cross-domain policies) are set and sent on every response by default.',
  },
  {
    change: 'Metric children and label values bound once',
    where: 'service/src/rate-limit/counting.ts, service/src/observability/metrics/http-metrics.ts',
    why: 'prom-client hashes the label object on every observation; the limiter binds its children at start-up, and route templates are computed once per Route object instead of per request.',
  },
  {
    change: 'One Redis command for every tier a request passes',
    where: 'service/src/rate-limit/redis-store.ts, service/src/rate-limit/limiter.ts, service/src/app.ts',
    why: "an /api/v1 request passes the general and the api tier, and rate-limiter-flexible's RateLimiterRedis counts one key per command: two EVALSHA round trips per request and, with OTel on, two ioredis client spans to build, encode and export. One Lua script now counts both keys in order (same keys, windows, headers, metrics and memory fallback; a request the general tier rejects is still not counted by the api tier): one round trip and one client span per request.",
  },
  {
    change: "The rate limiter's Redis writes coalesced per event-loop turn",
    where: 'service/src/storage/redis.ts (`coalesceWrites`)',
    why: "a write to Redis is a system call that also wakes the Redis process; in the full template's profile it was the largest native cost (`writeUtf8String` under ioredis). The socket is corked until `setImmediate`, so the commands of all requests handled in one turn of the event loop leave in one `writev`, and no command waits for a later turn. ioredis's `enableAutoPipelining` batches the same way but sends from its own callback, which would parent every command's span to the request that opened the batch.",
  },
  {
    change: 'One child logger per request, not a child of a child',
    where: 'service/src/observability/access-log.ts (no `quietReqLogger`)',
    why: "with `quietReqLogger`, pino-http makes the access line's logger a child of a per-request child logger; pino builds children with `Object.create(parent)`, so a per-request object becomes a prototype, and V8 gives each new prototype its own hidden classes in the old generation, which only a full (major) collection frees. Every request then left old-generation garbage behind, the old generation grew steadily under load, and each major collection it triggered stopped the process (the garbage-collection table under the RSS soak counts them). Without the option there is one child per request, of a long-lived parent; the request id is written into the access line instead.",
  },
  {
    change: "V8's allocation-site pretenuring off (`--no-allocation-site-pretenuring` in the start command)",
    where: 'package.json `start`, Dockerfile `CMD`',
    why: "with the SDK on, V8 decides under load that request-path allocation sites (spans, router and parser objects) make long-lived objects and starts allocating them in the old generation; those dead-but-old objects then keep the young objects they point to alive through minor collections, the old generation fills within seconds, and major collections stall the requests (the fixed-rate table compares the template with and without the flag at the same rate). The flag leaves every allocation young, where request objects belong. At saturation the two rows differ by less than this host's spread from round to round (the layer table).",
  },
  {
    change:
      'The middleware every request passes runs as one Express layer; the health routers are mounted at their path',
    where: 'service/src/http/middleware-series.ts, service/src/app.ts',
    why: "Express 5's router does work for every layer a request passes (a path match and its `next` bookkeeping) and more for every router it enters, and the OTel Express instrumentation wraps every layer's handle: per layer and request it pushes and pops the layer path, rebuilds the route and binds the callback to the active context, with the layer spans off too. The eight middlewares every request passes (security headers, request id, metrics, access log, Sentry scope, drain, request stats, CORS) now run as one layer that keeps Express 5's semantics for each (errors, thrown or from a rejected promise, `next('route')`, `next('router')`); the liveness, readiness and admin health routers are mounted at `/api/health`, so other requests pass them with one prefix test instead of entering two routers and testing five routes. The instruction count of the template with every optional layer off (routing, errors and auth only) shows what this saved.",
  },
  {
    change: 'Log lines written with one blocking write each',
    where: 'service/src/observability/logger.ts',
    why: "`pino()` without a destination writes stdout through an asynchronous stream that hands every write to libuv's thread pool: at a moderate rate each access line costs thread switches and a wake-up of the event loop when the write completes (the fixed-rate table counts context switches per request). pino's documented standard mode, `pino.destination({ sync: true })`, is one `write` system call on the event loop; under saturation the asynchronous stream's batching saved nothing measurable, and a line logged just before the process is killed is no longer lost.",
  },
  {
    change: 'Redis client fails fast instead of queueing',
    where: 'service/src/storage/redis.ts',
    why: 'with the offline queue and retries off, a Redis fault costs one command timeout at most and the tiers answer from memory, instead of requests piling up for tens of seconds.',
  },
  {
    change: 'OTLP batches encoded a chunk per event-loop turn, sent as one request',
    where: 'service/src/telemetry/otlp-export.ts (`ENCODE_CHUNK`)',
    why: "the packaged OTLP/HTTP protobuf exporters encode a whole batch (512 spans or log records by default) in one synchronous run of several milliseconds, and every request that arrives meanwhile waits; smaller batches (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`) shorten the run but multiply the export requests and lower the rate the one-batch-at-a-time processor keeps up with. The template's exporters encode the batch with the library's own serializer a few items per turn, yielding to pending I/O between chunks, and concatenate the chunks into one request body (encoded protobuf messages concatenate into one message); transport, retries and the OTEL_EXPORTER_OTLP_* variables are the library's. The fixed-rate table and the stall probe compare it with the packaged exporters (the whole-batch row). For http/json the chunks' `resourceSpans` lists are spliced into one document.",
  },
];

export interface Unconfigurable {
  readonly what: string;
  /** Computed from the runs; undefined when they lack the rows it needs. */
  readonly evidence: (t: ThroughputResults, alloc?: AllocationResults) => string | undefined;
  readonly fix: string;
}

const cpu = (t: ThroughputResults, id: string) =>
  rows(t.runs).find((r) => r.variant === id && r.route === 'hello')?.cpu.median;
const share = (t: ThroughputResults, pkg: string) => t.profile?.byPackage.find((p) => p.name === pkg)?.share;
const us = (n: number) => `${n.toFixed(1)} µs`;
const pct = (n: number) => `${(n * 100).toFixed(1)} %`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** "x % of the template's busy CPU in the profile, about y µs per request" */
function profileEvidence(t: ThroughputResults, pkg: string): string | undefined {
  const s = share(t, pkg);
  const c = cpu(t, t.profile?.variant ?? 'template');
  if (s === undefined || c === undefined) return undefined;
  return `\`${pkg}\` is ${pct(s)} of the busy CPU in the profile above, about ${us(s * c)} of the ${us(c)} of server CPU the full template spends per request.`;
}

/**
 * "x µs of server CPU per request instead of y µs (a vs b req/s)" for a comparison row against the
 * full template, with both rows' per-round ranges when they overlap: this host's speed drifts from
 * round to round by more than some of these costs, and a difference of medians inside that drift
 * measures the host, not the library.
 */
function versusTemplate(t: ThroughputResults, id: string): string | undefined {
  const all = rows(t.runs);
  const full = all.find((r) => r.variant === 'template' && r.route === 'hello');
  const other = all.find((r) => r.variant === id && r.route === 'hello');
  if (full === undefined || other === undefined) return undefined;
  const overlap = other.cpu.min <= full.cpu.max && full.cpu.min <= other.cpu.max;
  const caveat = overlap
    ? `; per round ${us(other.cpu.min)}–${us(other.cpu.max)} vs ${us(full.cpu.min)}–${us(full.cpu.max)}: the ranges overlap, so this run does not resolve the difference`
    : '';
  return `${us(other.cpu.median)} of server CPU per request instead of ${us(full.cpu.median)} (${Math.round(other.rps.median)} vs ${Math.round(full.rps.median)} req/s${caveat})`;
}

/** "x % of the busy CPU in the profile (cost centre), about y µs per request" */
function centreEvidence(t: ThroughputResults, centre: string): string | undefined {
  const s = t.profile?.byCentre?.find((c) => c.name === centre)?.share;
  const c = cpu(t, t.profile?.variant ?? 'template');
  if (s === undefined || c === undefined) return undefined;
  return `"${centre}" is ${pct(s)} of the busy CPU in the profile above, about ${us(s * c)} per request.`;
}

export const UNCONFIGURABLE: readonly Unconfigurable[] = [
  {
    what: 'A child logger per request (pino-http)',
    evidence: (t) => {
      const e = centreEvidence(t, 'pino-http child logger (one per request)');
      return e === undefined
        ? undefined
        : `${e} pino-http makes \`logger.child({ req })\` for every request, and pino serialises and redacts a child's bindings when the child is made, whether or not anything logs through it; the template logs nothing through \`req.log\`, only the access line needs \`req\`.`;
    },
    fix: 'upstream, make the request logger lazily (on first use of `req.log`); here, the access line could be written by a small `res.on("finish")` middleware from the root logger, at the price of leaving pino-http.',
  },
  {
    what: "Log lines turned into OTel log records (pino-opentelemetry-transport, in pino's worker thread)",
    evidence: (t) => {
      const v = versusTemplate(t, 'template-no-otlp-logs');
      if (v === undefined) return undefined;
      return `The request thread only copies each line into the worker's buffer; the worker \`JSON.parse\`s it back into an object, builds a LogRecord and encodes it for OTLP, on the same CPU budget (the server CPU column counts every thread). With OTEL_LOGS_EXPORTER=none the full template spent ${v}; the contract requires the records whenever an endpoint is set.`;
    },
    fix: 'ship logs from stdout with the collector (filelog receiver) and set OTEL_LOGS_EXPORTER=none: no per-line work in the process at all.',
  },
  {
    what: 'A `WeakSet` for every attribute value (@opentelemetry/core `isAnyValue`)',
    evidence: (_t, alloc) => {
      const run = alloc?.runs.find((r) => r.variant === 'template')?.summary;
      const fn = run?.byFunction.find((f) =>
        f.name.startsWith('`cleanAttributesInternal` @opentelemetry/core'),
      );
      if (run === undefined || fn === undefined) return undefined;
      return `Every attribute a span starts with is validated by \`isAnyValue\` twice (the tracer's \`startSpan\` calls \`cleanAttributes\` once before sampling and once with the span limits), and every \`setAttribute\` once more; each call allocates a \`new WeakSet()\` for cycle detection before it looks at the value's type, so strings and numbers, which can hold no cycle, pay for one too (a span started with 14 attributes: 28 sets before the tracer returns it). In the allocation profile above, \`cleanAttributesInternal\` (which V8 charges with those sets, as well as with the attribute copies it makes) allocates ${kb(fn.bytesPerRequest)} of the full template's ${kb(run.bytesPerRequest)} per request (${pct(fn.bytesPerRequest / run.bytesPerRequest)}). No SDK option skips the check.`;
    },
    fix: 'upstream, return early for primitives and allocate the set only when the value is an object or an array; nothing here can swap the function, short of patching the package.',
  },
  {
    what: 'OTLP protobuf encoding in JavaScript (@opentelemetry/otlp-transformer)',
    evidence: (t) => {
      const e = profileEvidence(t, '@opentelemetry/otlp-transformer');
      const s = t.sinks.template;
      if (e === undefined || s === undefined) return undefined;
      const v = versusTemplate(t, 'template-otlp-json');
      const jsonText =
        v === undefined
          ? ''
          : ` The same telemetry sent as OTLP/HTTP JSON (\`OTEL_EXPORTER_OTLP_PROTOCOL=http/json\`, counted at the sink too) cost ${v}: the JSON serializer builds plain objects and leaves the encoding to V8's native \`JSON.stringify\`; the JSON bodies are larger on the wire.`;
      return `${e} Each request exports ${(s.spans / s.served).toFixed(2)} spans and ${(s.logRecords / s.served).toFixed(2)} log records (counted at the sink), each encoded field by field on the event loop; batching settings change when it runs, not what it costs. The packaged exporters encode a whole batch (up to 512 items by default) in one synchronous run that requests arriving meanwhile wait for; the template's exporters split that run into chunks (see "What was changed to get there"), which changes how long a request waits, not what the encoding costs.${jsonText}`;
    },
    fix: 'where the receiver is an OpenTelemetry Collector (its OTLP/HTTP receiver accepts JSON), set `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`; otherwise export to a collector on localhost over a cheaper path (OTLP/gRPC with a native encoder), or encode in a worker thread; upstream, a faster protobuf writer.',
  },
];
