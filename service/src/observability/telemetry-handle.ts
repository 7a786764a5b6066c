// The app's view of the telemetry pipeline that instrumentation.ts set up before any app module loaded.
// instrumentation.ts must not import the app, and the app must not import the SDK, so the two meet
// through one well-known global symbol; without instrumentation every call is a no-op.
import type { pino } from 'pino';

/** Where the logger also writes each JSON line, for it to become an OTLP log record. */
export interface LogRecordSink {
  write(line: string): void;
}

/** What an error report carries about its request (tags) and what happened in it (breadcrumbs). */
export interface ErrorContext {
  readonly tags: Readonly<Record<string, string>>;
  readonly breadcrumbs: readonly {
    readonly category: string;
    readonly message: string;
    readonly data: Readonly<Record<string, unknown>>;
  }[];
}

export interface TelemetryHandle {
  /** Export what is buffered (spans, logs, Sentry events) without stopping. */
  flush(timeoutMs: number): Promise<void>;
  /** Flush and stop every exporter; called once, last, at shutdown. */
  shutdown(timeoutMs: number): Promise<void>;
  /** Names of the instrumentations that really patched their module (the ESM self-check). */
  patched(): readonly string[];
  /** Names of the instrumentations that are enabled (telemetry/instrumentations.ts and OTEL_NODE_*_INSTRUMENTATIONS). */
  readonly instrumentations?: readonly string[];
  /**
   * Opens the sink that turns log lines into OTLP log records in pino's worker thread; absent when
   * logs are not exported. The logger passes pino's `transport`: the preloaded telemetry must not
   * load pino itself, ahead of the pino instrumentation that adds trace ids to its lines.
   */
  readonly logRecords?: (transport: typeof pino.transport) => LogRecordSink;
  /** Report an unexpected error to Sentry (no-op when Sentry is off), with its request's context. */
  captureException(err: unknown, context?: ErrorContext): void;
  /** True for the OTLP exporters' and Sentry's own endpoints (host without brackets or with, port as text). */
  isOwnTraffic(host: string, port: string): boolean;
  readonly sentryEnabled: boolean;
  readonly exportEnabled: boolean;
  /**
   * `absent`: instrumentation.ts was not preloaded (started without `--import`); `disabled`: it was,
   * but `OTEL_SDK_DISABLED=true`; `enabled`: tracing is on (export may still be off).
   */
  readonly state: 'absent' | 'disabled' | 'enabled';
}

export const TELEMETRY_HANDLE = Symbol.for('items-api.telemetry');

const noop: TelemetryHandle = {
  flush: async () => {},
  shutdown: async () => {},
  patched: () => [],
  captureException: () => {},
  isOwnTraffic: () => false,
  sentryEnabled: false,
  exportEnabled: false,
  state: 'absent',
};

export function telemetryHandle(): TelemetryHandle {
  return ((globalThis as Record<symbol, unknown>)[TELEMETRY_HANDLE] as TelemetryHandle | undefined) ?? noop;
}
