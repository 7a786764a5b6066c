// The one OpenTelemetry set-up: NodeSDK with the instrumentations the service really uses, an OTLP
// trace exporter only when an endpoint is set, the worker-thread transport that makes OTLP log
// records from log lines (log-records-worker.ts), and the telemetry handle the app reads.
// Reads only the standard OTEL_* variables (plus NODE_ENV, SERVICE_VERSION, SENTRY_DSN for identity).
// @see https://opentelemetry.io/docs/languages/js/exporters/
import { randomUUID } from 'node:crypto';
import type { RequestOptions } from 'node:http';
import { createRequire, isBuiltin, syncBuiltinESMExports } from 'node:module';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { register as registerModuleHooks } from 'import-in-the-middle/register-hooks.mjs';
import {
  type LogRecordSink,
  TELEMETRY_HANDLE,
  type TelemetryHandle,
} from '../observability/telemetry-handle.ts';
import { PACKAGE_VERSION } from '../package-info.ts';
import { withDeadline } from '../process/deadline.ts';
import { loadInstrumentations } from './instrumentations.ts';
import type { LogRecordsWorkerOptions } from './log-records-worker.ts';
import { ChunkedOtlpTraceExporter } from './otlp-export.ts';
import { consistentAlwaysOnSampler } from './sampler.ts';
import { captureException, closeSentry, flushSentry, startSentry } from './sentry.ts';

// ATTR_DEPLOYMENT_ENVIRONMENT_NAME is only in the unstable "incubating" entry point; the name is fixed.
const ATTR_DEPLOYMENT_ENVIRONMENT_NAME = 'deployment.environment.name';
const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';
const DEFAULT_SERVICE_NAME = 'items-api';

type Env = NodeJS.ProcessEnv;
const str = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
};
const int = (env: Env, name: string): number | undefined => {
  const v = Number(str(env, name));
  return Number.isInteger(v) && v > 0 ? v : undefined;
};

/** host:port of a URL, as http.request options name them, to recognise our own exporters' traffic. */
function endpointOf(url: string | undefined): { host: string; port: string } | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const u = new URL(url);
  return { host: u.hostname, port: u.port || (u.protocol === 'https:' ? '443' : '80') };
}

const bare = (host: string) => host.replace(/^\[|\]$/g, '');

/** Whether host:port is one of `urls` (our exporters' and Sentry's endpoints). */
function endpointsMatcher(urls: readonly (string | undefined)[]): (host: string, port: string) => boolean {
  const targets = urls.map(endpointOf).filter((e) => e !== undefined);
  return (host, port) => targets.some((t) => bare(t.host) === bare(host) && t.port === port);
}

const hostPortOf = (req: RequestOptions): [string, string] => [
  req.hostname ?? req.host ?? '',
  String(req.port ?? (req.protocol === 'https:' ? 443 : 80)),
];

// InstrumentationBase records the exports it patched on its module definitions (`_modules`).
// The public getModuleDefinitions() returns fresh definitions, so it cannot tell; this internal field
// is the only place that knows. Structural, because each package may bring its own copy of the base.
type Patchable = Instrumentation;
const patchedItsModule = (i: Patchable): boolean =>
  (i as unknown as { _modules?: readonly { moduleExports?: unknown }[] })._modules?.some(
    (d) => d.moduleExports !== undefined,
  ) ?? false;

/**
 * The modules the instrumentations patch, as their module definitions name them (`http` brings
 * `node:http` along): the in-thread hooks wrap these and leave every other module alone.
 */
export function modulesToHook(instrumentations: readonly Patchable[]): string[] {
  const names = instrumentations.flatMap((i) =>
    ((i as { getModuleDefinitions?: () => { name: string }[] }).getModuleDefinitions?.() ?? []).map(
      (d) => d.name,
    ),
  );
  return [...new Set(names)];
}

export async function startTelemetry(env: Env = process.env): Promise<TelemetryHandle> {
  const sentryDsn = str(env, 'SENTRY_DSN');
  const serviceName = str(env, 'OTEL_SERVICE_NAME') ?? DEFAULT_SERVICE_NAME;
  const version = str(env, 'SERVICE_VERSION') ?? PACKAGE_VERSION;
  const environment = str(env, 'NODE_ENV') ?? 'development';
  if (sentryDsn) startSentry({ dsn: sentryDsn, environment, release: `${serviceName}@${version}` });

  const disabled = str(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  const tracesEndpoint =
    str(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const logsEndpoint =
    str(env, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT') ?? str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const exportTraces =
    !disabled && tracesEndpoint !== undefined && str(env, 'OTEL_TRACES_EXPORTER') !== 'none';
  const exportLogs = !disabled && logsEndpoint !== undefined && str(env, 'OTEL_LOGS_EXPORTER') !== 'none';
  // Our own exporters' and Sentry's HTTP calls must not become spans (they would trace themselves),
  // nor outgoing-call metrics (observability/metrics/http-client-metrics.ts asks the handle).
  const isOwnTraffic = endpointsMatcher([tracesEndpoint, logsEndpoint, sentryDsn]);

  const base = {
    isOwnTraffic,
    flush: async (timeoutMs: number) => {
      await withDeadline(sentryDsn ? flushSentry(timeoutMs) : Promise.resolve(), timeoutMs);
    },
    shutdown: async (timeoutMs: number) => {
      await withDeadline(sentryDsn ? closeSentry(timeoutMs) : Promise.resolve(), timeoutMs);
    },
    captureException: sentryDsn ? captureException : () => {},
    sentryEnabled: sentryDsn !== undefined,
  };
  if (disabled) return { ...base, patched: () => [], exportEnabled: false, state: 'disabled' };

  // The instrumentations and their configuration: instrumentations.ts, the one place to add one.
  // No Express instrumentation: Express layers make no spans, and http.route and the span name come
  // from the app's routing. No ioredis instrumentation by default: Redis is the rate limiter's store,
  // one round trip per request, and its outcome is on the server span (rate-limit/limiter.ts).
  const loaded = await loadInstrumentations(env, {
    isOwnRequest: (req) => isOwnTraffic(...hostPortOf(req)),
    isOwnOrigin: (origin) => {
      const u = new URL(origin);
      return isOwnTraffic(u.hostname, u.port || (u.protocol === 'https:' ? '443' : '80'));
    },
  });
  const instrumentations: Record<string, Patchable> = Object.fromEntries(
    loaded.map((l) => [l.name, l.instrumentation]),
  );
  // ESM loads pino and node:http where require-in-the-middle never looks: packages get in-thread
  // import-in-the-middle hooks (listed modules only); built-ins are patched through require() and
  // synced into their ESM exports (docs/decisions.md, "In-thread hooks").
  const modules = modulesToHook(Object.values(instrumentations));
  const require = createRequire(import.meta.url);
  for (const builtin of modules.filter((m) => isBuiltin(m))) require(builtin);
  syncBuiltinESMExports();
  registerModuleHooks({ include: modules.filter((m) => !isBuiltin(m)) });

  const protocol = (signal: 'TRACES' | 'LOGS') =>
    str(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) ??
    str(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf';
  if (exportTraces && !['http/protobuf', 'http/json'].includes(protocol('TRACES')))
    process.stderr.write(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol('TRACES')} is not supported; using http/protobuf\n`,
    );

  // Without an endpoint the spans still exist (log correlation, exemplars) but go nowhere.
  const spanProcessor: SpanProcessor = exportTraces
    ? new BatchSpanProcessor({
        // Both encodings chunked (otlp-export.ts); http/json costs the request thread less (decisions.md).
        exporter: new ChunkedOtlpTraceExporter(
          protocol('TRACES') === 'http/json' ? 'http/json' : 'http/protobuf',
        ),
        scheduledDelayMillis: int(env, 'OTEL_BSP_SCHEDULE_DELAY'),
        maxQueueSize: int(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
        maxExportBatchSize: int(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
        exportTimeoutMillis: int(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
      })
    : new NoopSpanProcessor();
  // Lowest precedence: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (envDetector) override these.
  // The instance id is made here, not by its detector, so that the log worker's resource has the same.
  const own = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: serviceName,
    [ATTR_SERVICE_VERSION]: version,
    [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: environment,
    [ATTR_SERVICE_INSTANCE_ID]: randomUUID(),
  });
  const sdk = new NodeSDK({
    // Unless OTEL_TRACES_SAMPLER names another, the default (parentbased_always_on) with `ot=th:0` in
    // the tracestate, so that the gateway samples traces consistently with the exemplars (sampler.ts).
    ...(str(env, 'OTEL_TRACES_SAMPLER') === undefined ? { sampler: consistentAlwaysOnSampler() } : {}),
    resource: defaultResource().merge(own),
    resourceDetectors: [hostDetector, envDetector],
    instrumentations: Object.values(instrumentations),
    spanProcessors: [spanProcessor],
    // Only traces leave the process from here: metrics are Prometheus's job (no MeterProvider, no
    // metric exporter that nobody listens to), and log records are made in the log worker.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();

  const records = exportLogs
    ? logRecordsPipe(
        {
          // The worker's own host detector adds host.*, as hostDetector does here.
          resourceAttributes: own.merge(detectResources({ detectors: [envDetector] })).attributes as Record<
            string,
            string
          >,
          loggerName: serviceName,
          serviceVersion: version,
          protocol: protocol('LOGS') === 'http/json' ? 'http' : 'http/protobuf',
          batch: {
            scheduledDelayMillis: int(env, 'OTEL_BLRP_SCHEDULE_DELAY'),
            maxQueueSize: int(env, 'OTEL_BLRP_MAX_QUEUE_SIZE'),
            maxExportBatchSize: int(env, 'OTEL_BLRP_MAX_EXPORT_BATCH_SIZE'),
            exportTimeoutMillis: int(env, 'OTEL_BLRP_EXPORT_TIMEOUT'),
          },
        },
        env,
      )
    : undefined;

  return {
    ...base,
    async flush(timeoutMs) {
      await withDeadline(
        Promise.all([
          spanProcessor.forceFlush(),
          // Not the log worker: it exports on its own schedule, and at shutdown (close), where waiting
          // for it has a budget of its own.
          sentryDsn ? flushSentry(timeoutMs) : undefined,
        ]),
        timeoutMs,
      );
    },
    async shutdown(timeoutMs) {
      const closing = records?.close(Math.max(0, timeoutMs - WORKER_STOP_MARGIN_MS));
      await withDeadline(
        Promise.all([sdk.shutdown(), closing, sentryDsn ? closeSentry(timeoutMs) : undefined]),
        timeoutMs,
      );
      // The log worker must be gone (ended or stopped) before the process exits, or pino ends it at
      // exit and blocks until it answers; stopping it takes a moment past its own budget.
      if (closing) await withDeadline(closing, WORKER_STOP_MARGIN_MS);
    },
    // An instrumentation patched when its module hook fired (moduleExports set); under ESM without
    // the import-in-the-middle loader it never fires, which is exactly what the self-check looks for.
    patched: () =>
      Object.entries(instrumentations)
        .filter(([, i]) => patchedItsModule(i))
        .map(([name]) => name),
    instrumentations: Object.keys(instrumentations),
    exportEnabled: exportTraces,
    state: 'enabled',
    ...(records ? { logRecords: records.open } : {}),
  };
}

// The wait for the log worker's export ends this long before the shutdown deadline, leaving time to end it.
const WORKER_STOP_MARGIN_MS = 250;
// Log lines wait at most this long, or until this many characters are pending, before the worker gets them.
const HANDOFF_MS = 20;
const HANDOFF_CHARS = 64 * 1024;

type PinoTransport = Parameters<NonNullable<TelemetryHandle['logRecords']>>[0];
type TransportStream = ReturnType<PinoTransport>;

/**
 * The log worker's lifecycle: `open` starts it (called once, by the logger, with pino's transport),
 * `flush` hands it every line written so far, `close` ends it, which exports what it still holds.
 * A worker that failed, or one already closed, takes no more lines: logging never throws for it.
 */
function logRecordsPipe(options: LogRecordsWorkerOptions, env: Env) {
  let stream: TransportStream | undefined;
  let open = false;
  let closed: Promise<void> | undefined;
  // Lines reach the worker in batches (at most HANDOFF_MS), not one wake-up per request; flush, close
  // and exit hand over what is pending first (docs/decisions.md, "Batched log hand-over").
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const handOver = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === '') return;
    const lines = pending;
    pending = '';
    if (open) stream?.write(lines);
  };
  const sink: LogRecordSink = {
    write(line) {
      if (!open) return;
      pending += line;
      if (pending.length >= HANDOFF_CHARS) handOver();
      else timer ??= setTimeout(handOver, HANDOFF_MS).unref();
    },
  };
  // Resolves once the worker has exported every line written so far (log-records-worker.ts flush()).
  const flush = () =>
    new Promise<void>((resolve) => {
      handOver();
      if (!open || !stream) resolve();
      else stream.flush(() => resolve());
    });
  return {
    open(transport: PinoTransport): LogRecordSink {
      if (stream) return sink;
      stream = transport({
        target: new URL('./log-records-worker.ts', import.meta.url).href,
        options,
        worker: {
          // Not the start command's --import: the worker would set up telemetry (and a worker) again.
          execArgv: [],
          // The resource comes from this thread (instance id included); the worker adds host.* only.
          env: { ...env, OTEL_NODE_RESOURCE_DETECTORS: 'host' },
        },
      } as Parameters<PinoTransport>[0]);
      open = true;
      // Before pino's own exit handler, which ends the worker (registered when the transport was made).
      process.prependListener('exit', handOver);
      stream.on('error', (err: unknown) => {
        if (!open) return;
        open = false;
        process.stderr.write(
          `OTLP log record worker failed, log records are no longer exported: ${String(err)}\n`,
        );
      });
      return sink;
    },
    flush,
    /**
     * Exports what the worker holds, waiting at most `timeoutMs`, then ends it. Ending blocks this
     * thread until the worker is done (thread-stream), so it follows a flush that finished: the
     * worker then has nothing left to wait for. A worker whose export did not finish in time (a
     * collector that never answers) is stopped instead, or pino would end it at exit and wait.
     */
    close(timeoutMs: number) {
      closed ??= (async () => {
        if (!open || !stream) return;
        const ending = stream;
        const flushed = await withDeadline(flush(), timeoutMs);
        handOver();
        open = false;
        const done = new Promise<void>((resolve) => ending.once('close', () => resolve()));
        if (flushed) ending.end();
        // thread-stream's `worker` is not in its types; it is the only way to stop the thread.
        else await (ending as unknown as { worker?: { terminate(): Promise<number> } }).worker?.terminate();
        await done;
      })();
      return closed;
    },
  };
}

export async function installTelemetry(env: Env = process.env): Promise<TelemetryHandle> {
  const handle = await startTelemetry(env);
  (globalThis as Record<symbol, unknown>)[TELEMETRY_HANDLE] = handle;
  return handle;
}
