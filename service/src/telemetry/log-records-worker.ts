// pino's worker thread: turns the service's JSON lines into OTLP log records off the request thread,
// with pino-opentelemetry-transport's OTLP half and our own line mapping (docs/decisions.md, "Log worker").
// @see https://github.com/pinojs/pino-opentelemetry-transport
import { type LogAttributes, type LogRecord, logs } from '@opentelemetry/api-logs';
import build from 'pino-abstract-transport';
import { getOtlpLogger } from 'pino-opentelemetry-transport/lib/otlp-logger-shim.js';
import { withDeadline } from '../process/deadline.ts';

// pino ends the worker at process exit (a crash, too) and blocks until it is done: its last export
// may take this long, not the exporter's own timeout (10 s).
const CLOSE_LIMIT_MS = 2_000;

// OTel log data model: the first number of each severity range (as pino-opentelemetry-transport).
const SEVERITY: Readonly<Record<string, number>> = {
  trace: 1,
  debug: 5,
  info: 9,
  warn: 13,
  error: 17,
  fatal: 21,
};

export interface LogRecordsWorkerOptions {
  readonly loggerName: string;
  readonly serviceVersion: string;
  readonly resourceAttributes: Readonly<Record<string, string | number | boolean>>;
  readonly protocol: 'http/protobuf' | 'http';
  readonly batch: {
    readonly scheduledDelayMillis?: number | undefined;
    readonly maxQueueSize?: number | undefined;
    readonly maxExportBatchSize?: number | undefined;
    readonly exportTimeoutMillis?: number | undefined;
  };
}

type Line = Record<string, unknown> & { time?: unknown; level?: unknown; msg?: unknown };

/**
 * One of our lines (level label, ISO time) as a log record. getOtlpLogger moves trace_id/span_id/
 * trace_flags from the attributes into the record's trace context when all three are there.
 */
function toLogRecord(line: Line): LogRecord {
  const { time, level, msg, ...attributes } = line;
  // OTLP wants the flags as a number, the line has hex.
  if (typeof attributes.trace_flags === 'string')
    attributes.trace_flags = Number.parseInt(attributes.trace_flags, 16);
  const label = typeof level === 'string' ? level : undefined;
  const millis = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  return {
    timestamp: Number.isNaN(millis) ? Date.now() : millis,
    body: typeof msg === 'string' ? msg : undefined,
    severityNumber: (label && SEVERITY[label]) || 0,
    ...(label === undefined ? {} : { severityText: label }),
    attributes: attributes as LogAttributes,
  };
}

function otlpLogger(opts: LogRecordsWorkerOptions) {
  return getOtlpLogger({
    loggerName: opts.loggerName,
    serviceVersion: opts.serviceVersion,
    resourceAttributes: opts.resourceAttributes,
    logRecordProcessorOptions: {
      recordProcessorType: 'batch',
      exporterOptions: { protocol: opts.protocol },
      processorConfig: opts.batch,
    },
  });
}

export default function logRecordsWorker(opts: LogRecordsWorkerOptions) {
  const otlp = otlpLogger(opts);
  // getOtlpLogger makes its provider this thread's global one, which is the only way to its forceFlush.
  const provider = logs.getLoggerProvider() as { forceFlush?: () => Promise<void> };
  let flushing = 0;
  const destination = build(
    async (source) => {
      for await (const line of source as AsyncIterable<Line>) otlp.emit(toLogRecord(line));
    },
    {
      // Ending exports what is still queued. While a flush() export is unfinished, shutdown has
      // already waited for it as long as it may: a collector that never answers must not hold the exit.
      close: async () => {
        if (flushing > 0) return;
        await withDeadline(otlp.shutdown(), CLOSE_LIMIT_MS);
      },
    },
  );
  // thread-stream calls this for ThreadStream#flush(cb): the lines written so far leave as records.
  return Object.assign(destination, {
    async flush() {
      flushing++;
      try {
        await provider.forceFlush?.();
      } finally {
        flushing--;
      }
    },
  });
}
