// Preloaded (--import) into a benchmarked server by `npm run bench -- --mode=stalls`: records, with
// timestamps, what holds the event loop at a fixed rate: every loop turn longer than STALL_MS, every
// garbage-collection pause, and the synchronous part of every OTLP export call (encoding the batch
// and handing it to the socket). Started by the first SIGUSR2, written to BENCH_STALL_FILE by the
// second, so the orchestrator brackets exactly the requests it measures.
//
// Written here because perf_hooks' monitorEventLoopDelay keeps a histogram without timestamps, and a
// stall can only be blamed on a pause or an export that overlaps it in time.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as TracesJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TracesProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { type ProbeEvent, type ProbeRecord, STALL_MS, STALL_STARTED, STALL_WRITTEN } from './stalls.ts';

const out = process.env.BENCH_STALL_FILE;
if (out) {
  const events: ProbeEvent[] = [];
  let recording = false;
  let fromMs = 0;
  const push = (e: ProbeEvent) => {
    if (recording) events.push(e);
  };

  // The exporters' own export(), wrapped on their prototypes before the SDK builds any instance. A
  // class without it means the package changed shape: fail the start instead of measuring nothing.
  type Export = (this: unknown, items: readonly unknown[], done: (r: unknown) => void) => void;
  const wrap = (exporter: { prototype: object }, kind: 'export-spans' | 'export-logs') => {
    const proto = exporter.prototype as { export?: Export };
    const original = proto.export;
    if (typeof original !== 'function') throw new Error(`stall probe: ${kind} exporter has no export()`);
    proto.export = function (this: unknown, items, done) {
      const start = performance.now();
      original.call(this, items, done);
      push({ kind, startMs: start, durationMs: performance.now() - start, items: items.length });
    };
  };
  wrap(TracesProto, 'export-spans');
  wrap(TracesJson, 'export-spans');
  wrap(LogsProto, 'export-logs');
  wrap(LogsJson, 'export-logs');

  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) push({ kind: 'gc', startMs: e.startTime, durationMs: e.duration });
  }).observe({ entryTypes: ['gc'] });

  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > STALL_MS) push({ kind: 'stall', startMs: last, durationMs: now - last });
    last = now;
  }, 1).unref();

  process.on('SIGUSR2', () => {
    if (!recording) {
      recording = true;
      fromMs = performance.now();
      process.stderr.write(`${STALL_STARTED}\n`);
      return;
    }
    recording = false;
    const record: ProbeRecord = { fromMs, toMs: performance.now(), events };
    writeFileSync(out, JSON.stringify(record));
    process.stderr.write(`${STALL_WRITTEN}\n`);
  });
}
