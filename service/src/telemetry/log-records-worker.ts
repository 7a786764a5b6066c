// The pino transport target that turns the service's JSON lines into OTLP log records, in pino's
// worker thread: parsing, record building, batching and encoding never run on the request thread.
// @see https://github.com/pinojs/pino-opentelemetry-transport
//
// pino-opentelemetry-transport's OTLP half is used as is (getOtlpLogger: resource, exporter per
// protocol, batch processor, and the record's trace context from the line's trace_id/span_id/
// trace_flags). Its entry point is not: its mapper reads pino's default line (numeric `level`,
// epoch-ms `time`), and ours carries the level's label and an ISO time for the people and tools
// reading stdout, so the mapping below takes their place (a few lines, no second JSON round trip).
import { logs } from '@opentelemetry/api-logs';
import build from 'pino-abstract-transport';
import { getOtlpLogger } from 'pino-opentelemetry-transport/lib/otlp-logger-shim.js';
import { withDeadline } from '../process/deadline.ts';

// OTel log data model: the first number of each severity range (as pino-opentelemetry-transport).
// pino ends the worker at process exit (a crash, too) and blocks until it is done: its last export
// may take this long, not the exporter's own timeout (10 s).
const CLOSE_LIMIT_MS = 2_000;

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

export default function logRecordsWorker(opts: LogRecordsWorkerOptions) {
  const otlp = getOtlpLogger({
    loggerName: opts.loggerName,
    serviceVersion: opts.serviceVersion,
    resourceAttributes: opts.resourceAttributes,
    logRecordProcessorOptions: {
      recordProcessorType: 'batch',
      exporterOptions: { protocol: opts.protocol },
      processorConfig: opts.batch,
    },
  });
  // getOtlpLogger makes its provider this thread's global one, which is the only way to its forceFlush.
  const provider = logs.getLoggerProvider() as { forceFlush?: () => Promise<void> };
  let flushing = 0;
  const destination = build(
    async (source) => {
      for await (const line of source as AsyncIterable<Line>) {
        const { time, level, msg, ...attributes } = line;
        // getOtlpLogger moves trace_id/span_id/trace_flags from the attributes into the record's
        // trace context when all three are there; OTLP wants the flags as a number, the line has hex.
        if (typeof attributes.trace_flags === 'string')
          attributes.trace_flags = Number.parseInt(attributes.trace_flags, 16);
        const label = typeof level === 'string' ? level : undefined;
        const millis = typeof time === 'string' ? Date.parse(time) : Number.NaN;
        otlp.emit({
          timestamp: Number.isNaN(millis) ? Date.now() : millis,
          body: typeof msg === 'string' ? msg : undefined,
          severityNumber: (label && SEVERITY[label]) || 0,
          ...(label === undefined ? {} : { severityText: label }),
          attributes: attributes as never,
        });
      }
    },
    {
      // The worker's end exports what is still queued (pino ends it at process exit, and waits). When
      // an export asked for by flush() has not finished, the service's shutdown has already waited
      // for it as long as it may: ending then does not wait again, or a collector that never answers
      // would hold the exit.
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
