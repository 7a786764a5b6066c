// Preloaded into a server by --mode=stalls: timestamps every loop turn longer than STALL_MS, every GC
// pause and every OTLP encoding run, from the first SIGUSR2 until the second writes BENCH_STALL_FILE.
// perf_hooks' monitorEventLoopDelay has no timestamps, and a stall is blamed on what overlaps it.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { type ProbeEvent, type ProbeRecord, STALL_MS, STALL_STARTED, STALL_WRITTEN } from './stall-events.ts';

const out = process.env.BENCH_STALL_FILE;
if (out) {
  const events: ProbeEvent[] = [];
  let recording = false;
  let fromMs = 0;
  const push = (e: ProbeEvent) => {
    if (recording) events.push(e);
  };

  // The OTLP serializers the exporters call, wrapped on the shared objects before the SDK builds any
  // exporter: each call is one synchronous encoding run (a whole batch for the packaged exporters, a
  // chunk of one for the template's). A serializer without serializeRequest means the package
  // changed shape: fail the start instead of measuring nothing.
  type Serialize = (items: readonly unknown[]) => Uint8Array | undefined;
  const wrap = (serializer: { serializeRequest: unknown }, kind: 'export-spans' | 'export-logs') => {
    const original = serializer.serializeRequest as Serialize;
    if (typeof original !== 'function')
      throw new Error(`stall probe: ${kind} serializer has no serializeRequest()`);
    serializer.serializeRequest = (items: readonly unknown[]) => {
      const start = performance.now();
      const encoded = original(items);
      push({ kind, startMs: start, durationMs: performance.now() - start, items: items.length });
      return encoded;
    };
  };
  wrap(ProtobufTraceSerializer, 'export-spans');
  wrap(JsonTraceSerializer, 'export-spans');
  wrap(ProtobufLogsSerializer, 'export-logs');
  wrap(JsonLogsSerializer, 'export-logs');

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
