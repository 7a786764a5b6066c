// The request thread's end of the log worker (log-records-worker.ts): starts it, hands it the
// logger's lines in batches, and ends it at shutdown without letting it hold the exit.
import type { LogRecordSink, TelemetryHandle } from '../observability/telemetry-handle.ts';
import { withDeadline } from '../process/deadline.ts';
import type { LogRecordsWorkerOptions } from './log-records-worker.ts';

// Log lines wait at most this long, or until this many characters are pending, before the worker gets them.
const HANDOFF_MS = 20;
const HANDOFF_CHARS = 64 * 1024;

type PinoTransport = Parameters<NonNullable<TelemetryHandle['logRecords']>>[0];
type TransportStream = ReturnType<PinoTransport>;

/**
 * The log worker's lifecycle: `open` starts it (called once, by the logger, with pino's transport),
 * `close` ends it, which exports what it still holds. A worker that failed, or one already closed,
 * takes no more lines: logging never throws for it.
 */
export interface LogRecordsPipe {
  open(transport: PinoTransport): LogRecordSink;
  close(timeoutMs: number): Promise<void>;
}

/**
 * Lines reach `deliver` in batches (at most HANDOFF_MS), not one worker wake-up per request;
 * `handOver` delivers what is pending now (docs/decisions.md, "Batched log hand-over").
 */
function batchedHandOver(deliver: (lines: string) => void) {
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  const handOver = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === '') return;
    const lines = pending;
    pending = '';
    deliver(lines);
  };
  const add = (line: string) => {
    pending += line;
    if (pending.length >= HANDOFF_CHARS) handOver();
    else timer ??= setTimeout(handOver, HANDOFF_MS).unref();
  };
  return { add, handOver };
}

function startWorker(
  transport: PinoTransport,
  options: LogRecordsWorkerOptions,
  env: NodeJS.ProcessEnv,
): TransportStream {
  return transport({
    target: new URL('./log-records-worker.ts', import.meta.url).href,
    options,
    worker: {
      // Not the start command's --import: the worker would set up telemetry (and a worker) again.
      execArgv: [],
      // The resource comes from this thread (instance id included); the worker adds host.* only.
      env: { ...env, OTEL_NODE_RESOURCE_DETECTORS: 'host' },
    },
  } as Parameters<PinoTransport>[0]);
}

/**
 * Ending blocks this thread until the worker is done (thread-stream), so only a worker whose flush
 * finished is ended; one that did not (a collector that never answers) is stopped instead, or pino
 * would end it at exit and wait.
 */
async function endWorker(stream: TransportStream, flushed: boolean): Promise<void> {
  const done = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  if (flushed) stream.end();
  // thread-stream's `worker` is not in its types; it is the only way to stop the thread.
  else await (stream as unknown as { worker?: { terminate(): Promise<number> } }).worker?.terminate();
  await done;
}

export function logRecordsPipe(options: LogRecordsWorkerOptions, env: NodeJS.ProcessEnv): LogRecordsPipe {
  let stream: TransportStream | undefined;
  let open = false;
  let closed: Promise<void> | undefined;
  const batch = batchedHandOver((lines) => {
    if (open) stream?.write(lines);
  });
  const sink: LogRecordSink = {
    write(line) {
      if (open) batch.add(line);
    },
  };
  // Resolves once the worker has exported every line written so far (log-records-worker.ts flush()).
  const flush = () =>
    new Promise<void>((resolve) => {
      batch.handOver();
      if (!open || !stream) resolve();
      else stream.flush(() => resolve());
    });
  const close = async (timeoutMs: number) => {
    if (!open || !stream) return;
    const ending = stream;
    const flushed = await withDeadline(flush(), timeoutMs);
    batch.handOver();
    open = false;
    await endWorker(ending, flushed);
  };
  return {
    open(transport) {
      if (stream) return sink;
      stream = startWorker(transport, options, env);
      open = true;
      // Before pino's own exit handler, which ends the worker (registered when the transport was made).
      process.prependListener('exit', batch.handOver);
      stream.on('error', (err: unknown) => {
        if (!open) return;
        open = false;
        process.stderr.write(
          `OTLP log record worker failed, log records are no longer exported: ${String(err)}\n`,
        );
      });
      return sink;
    },
    close: (timeoutMs) => (closed ??= close(timeoutMs)),
  };
}
