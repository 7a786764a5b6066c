// The one OpenTelemetry set-up: NodeSDK with the instrumentations the service really uses, an OTLP
// trace exporter only when an endpoint is set, the log worker that makes OTLP log records from log
// lines (log-records-pipe.ts), and the telemetry handle the app reads.
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
  type Resource,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { register as registerModuleHooks } from 'import-in-the-middle/register-hooks.mjs';
import { TELEMETRY_HANDLE, type TelemetryHandle } from '../observability/telemetry-handle.ts';
import { PACKAGE_VERSION } from '../package-info.ts';
import { withDeadline } from '../process/deadline.ts';
import { loadInstrumentations } from './instrumentations.ts';
import { logRecordsPipe } from './log-records-pipe.ts';
import type { LogRecordsWorkerOptions } from './log-records-worker.ts';
import { ChunkedOtlpTraceExporter } from './otlp-export.ts';
import { consistentAlwaysOnSampler } from './sampler.ts';
import { captureException, closeSentry, flushSentry, startSentry } from './sentry.ts';

// ATTR_DEPLOYMENT_ENVIRONMENT_NAME is only in the unstable "incubating" entry point; the name is fixed.
const ATTR_DEPLOYMENT_ENVIRONMENT_NAME = 'deployment.environment.name';
const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';
const DEFAULT_SERVICE_NAME = 'items-api';
// The wait for the log worker's export ends this long before the shutdown deadline, leaving time to end it.
const WORKER_STOP_MARGIN_MS = 250;

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

/** What the set-up reads: the standard OTEL_* variables, and the service's identity and SENTRY_DSN. */
function readSettings(env: Env) {
  const disabled = str(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  const tracesEndpoint =
    str(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const logsEndpoint =
    str(env, 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT') ?? str(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const protocol = (signal: 'TRACES' | 'LOGS') =>
    str(env, `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) ??
    str(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf';
  return {
    sentryDsn: str(env, 'SENTRY_DSN'),
    serviceName: str(env, 'OTEL_SERVICE_NAME') ?? DEFAULT_SERVICE_NAME,
    version: str(env, 'SERVICE_VERSION') ?? PACKAGE_VERSION,
    environment: str(env, 'NODE_ENV') ?? 'development',
    disabled,
    tracesEndpoint,
    logsEndpoint,
    exportTraces: !disabled && tracesEndpoint !== undefined && str(env, 'OTEL_TRACES_EXPORTER') !== 'none',
    exportLogs: !disabled && logsEndpoint !== undefined && str(env, 'OTEL_LOGS_EXPORTER') !== 'none',
    tracesProtocol: protocol('TRACES'),
    logsProtocol: protocol('LOGS'),
    defaultSampler: str(env, 'OTEL_TRACES_SAMPLER') === undefined,
    spanBatch: {
      scheduledDelayMillis: int(env, 'OTEL_BSP_SCHEDULE_DELAY'),
      maxQueueSize: int(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
      maxExportBatchSize: int(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
      exportTimeoutMillis: int(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
    },
    logBatch: {
      scheduledDelayMillis: int(env, 'OTEL_BLRP_SCHEDULE_DELAY'),
      maxQueueSize: int(env, 'OTEL_BLRP_MAX_QUEUE_SIZE'),
      maxExportBatchSize: int(env, 'OTEL_BLRP_MAX_EXPORT_BATCH_SIZE'),
      exportTimeoutMillis: int(env, 'OTEL_BLRP_EXPORT_TIMEOUT'),
    },
  };
}
type Settings = ReturnType<typeof readSettings>;
type OwnTraffic = (host: string, port: string) => boolean;

/** The handle's Sentry half, the whole handle when the SDK is disabled. */
function sentryPart(s: Settings, isOwnTraffic: OwnTraffic) {
  const { sentryDsn } = s;
  if (sentryDsn)
    startSentry({ dsn: sentryDsn, environment: s.environment, release: `${s.serviceName}@${s.version}` });
  return {
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
}

/**
 * The instrumentations (instrumentations.ts, the one place to add one), by name, with their modules
 * hooked. ESM loads pino and node:http where require-in-the-middle never looks: packages get in-thread
 * hooks (listed modules only), built-ins are patched through require() (decisions.md, "In-thread hooks").
 */
async function installInstrumentations(env: Env, isOwnTraffic: OwnTraffic) {
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
  const modules = modulesToHook(Object.values(instrumentations));
  const require = createRequire(import.meta.url);
  for (const builtin of modules.filter((m) => isBuiltin(m))) require(builtin);
  syncBuiltinESMExports();
  registerModuleHooks({ include: modules.filter((m) => !isBuiltin(m)) });
  return instrumentations;
}

/** Without an endpoint the spans still exist (log correlation, exemplars) but go nowhere. */
function spanProcessorFor(s: Settings): SpanProcessor {
  if (!s.exportTraces) return new NoopSpanProcessor();
  if (!['http/protobuf', 'http/json'].includes(s.tracesProtocol))
    process.stderr.write(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${s.tracesProtocol} is not supported; using http/protobuf\n`,
    );
  return new BatchSpanProcessor({
    // Both encodings chunked (otlp-export.ts); http/json costs the request thread less (decisions.md).
    exporter: new ChunkedOtlpTraceExporter(s.tracesProtocol === 'http/json' ? 'http/json' : 'http/protobuf'),
    ...s.spanBatch,
  });
}

/**
 * Lowest precedence: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (envDetector) override these.
 * The instance id is made here, not by its detector, so that the log worker's resource has the same.
 */
function ownResource(s: Settings): Resource {
  return resourceFromAttributes({
    [ATTR_SERVICE_NAME]: s.serviceName,
    [ATTR_SERVICE_VERSION]: s.version,
    [ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: s.environment,
    [ATTR_SERVICE_INSTANCE_ID]: randomUUID(),
  });
}

function startSdk(
  s: Settings,
  own: Resource,
  instrumentations: readonly Patchable[],
  spanProcessor: SpanProcessor,
): NodeSDK {
  const sdk = new NodeSDK({
    // Unless OTEL_TRACES_SAMPLER names another, the default (parentbased_always_on) with `ot=th:0` in
    // the tracestate, so that the gateway samples traces consistently with the exemplars (sampler.ts).
    ...(s.defaultSampler ? { sampler: consistentAlwaysOnSampler() } : {}),
    resource: defaultResource().merge(own),
    resourceDetectors: [hostDetector, envDetector],
    instrumentations: [...instrumentations],
    spanProcessors: [spanProcessor],
    // Only traces leave the process from here: metrics are Prometheus's job (no MeterProvider, no
    // metric exporter that nobody listens to), and log records are made in the log worker.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return sdk;
}

function logWorkerOptions(s: Settings, own: Resource): LogRecordsWorkerOptions {
  return {
    // The worker's own host detector adds host.*, as hostDetector does here.
    resourceAttributes: own.merge(detectResources({ detectors: [envDetector] })).attributes as Record<
      string,
      string
    >,
    loggerName: s.serviceName,
    serviceVersion: s.version,
    protocol: s.logsProtocol === 'http/json' ? 'http' : 'http/protobuf',
    batch: s.logBatch,
  };
}

export async function startTelemetry(env: Env = process.env): Promise<TelemetryHandle> {
  const s = readSettings(env);
  // Our own exporters' and Sentry's HTTP calls must not become spans (they would trace themselves),
  // nor outgoing-call metrics (observability/metrics/http-client-metrics.ts asks the handle).
  const isOwnTraffic = endpointsMatcher([s.tracesEndpoint, s.logsEndpoint, s.sentryDsn]);
  const base = sentryPart(s, isOwnTraffic);
  if (s.disabled) return { ...base, patched: () => [], exportEnabled: false, state: 'disabled' };

  const instrumentations = await installInstrumentations(env, isOwnTraffic);
  const spanProcessor = spanProcessorFor(s);
  const own = ownResource(s);
  const sdk = startSdk(s, own, Object.values(instrumentations), spanProcessor);
  const records = s.exportLogs ? logRecordsPipe(logWorkerOptions(s, own), env) : undefined;
  return {
    ...base,
    async flush(timeoutMs) {
      // Not the log worker: it exports on its own schedule, and at shutdown (close), where waiting
      // for it has a budget of its own.
      await withDeadline(
        Promise.all([spanProcessor.forceFlush(), s.sentryDsn ? flushSentry(timeoutMs) : undefined]),
        timeoutMs,
      );
    },
    async shutdown(timeoutMs) {
      const closing = records?.close(Math.max(0, timeoutMs - WORKER_STOP_MARGIN_MS));
      await withDeadline(
        Promise.all([sdk.shutdown(), closing, s.sentryDsn ? closeSentry(timeoutMs) : undefined]),
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
    exportEnabled: s.exportTraces,
    state: 'enabled',
    ...(records ? { logRecords: records.open } : {}),
  };
}

export async function installTelemetry(env: Env = process.env): Promise<TelemetryHandle> {
  const handle = await startTelemetry(env);
  (globalThis as Record<symbol, unknown>)[TELEMETRY_HANDLE] = handle;
  return handle;
}
