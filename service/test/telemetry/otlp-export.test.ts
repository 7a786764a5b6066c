// The chunked OTLP exporter against a real local receiver: a batch of real spans leaves as one request
// (one resource entry per chunk) and forceFlush waits for it; a batch it cannot encode fails once,
// through the callback, and never as an unhandled rejection.
import { strict as assert } from 'node:assert';
import { type TestContext, test } from 'node:test';
import type { ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { type ReadableSpan, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { startOtlpReceiver } from '../../../test/support/otlp-receiver.ts';
import { ChunkedOtlpTraceExporter, ENCODE_CHUNK } from '../../src/telemetry/otlp-export.ts';

/** Real ended spans, collected as a batch processor would hand them to an exporter. */
function endedSpans(count: number): ReadableSpan[] {
  const ended: ReadableSpan[] = [];
  const collect: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => ended.push(span),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const tracer = new TracerProvider({ spanProcessors: [collect] }).getTracer('otlp-export-test');
  for (let i = 0; i < count; i++) tracer.startSpan(`span-${i}`, { attributes: { i } }).end();
  return ended;
}

/** A local receiver and an exporter pointed at it by the standard variable, both closed after the test. */
async function exporterToReceiver(t: TestContext) {
  const otlp = await startOtlpReceiver();
  t.after(() => otlp.close());
  const before = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${otlp.url}/v1/traces`;
  t.after(() => {
    if (before === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = before;
  });
  const exporter = new ChunkedOtlpTraceExporter();
  t.after(() => exporter.shutdown());
  return { otlp, exporter };
}

test('when a batch of real spans is exported, then forceFlush returns after one request carrying all of them, one resource entry per chunk', async (t) => {
  const { otlp, exporter } = await exporterToReceiver(t);

  const spans = endedSpans(ENCODE_CHUNK * 3 + 5);
  const results: ExportResult[] = [];
  exporter.export(spans, (r) => results.push(r));
  await exporter.forceFlush();

  assert.deepEqual(
    results.map((r) => r.code),
    [0],
    'one SUCCESS result',
  );
  assert.equal(otlp.requests.length, 1);
  assert.equal(otlp.requests[0]?.items, spans.length);
  assert.equal(otlp.requests[0]?.groups, 4);
  assert.deepEqual(
    otlp.spans.map((s) => s.name),
    spans.map((s) => s.name),
  );
});

test('when a batch spans several chunks, then one chunk is encoded per turn of the event loop, so work queued meanwhile runs between chunks', async (t) => {
  const { otlp, exporter } = await exporterToReceiver(t);
  // Counts the real serializer's calls (each one a chunk) and forwards every one of them.
  const serialize = ProtobufTraceSerializer.serializeRequest;
  let encoded = 0;
  ProtobufTraceSerializer.serializeRequest = (spans) => {
    encoded++;
    return serialize(spans);
  };
  t.after(() => {
    ProtobufTraceSerializer.serializeRequest = serialize;
  });
  const nextTurn = () => new Promise<number>((resolve) => setImmediate(() => resolve(encoded)));

  const spans = endedSpans(ENCODE_CHUNK * 3 + 1);
  exporter.export(spans, () => {});
  // The first chunk synchronously, like the packaged exporter; each later one after the work that was
  // already queued when the previous chunk finished (this test's setImmediate stands for a request).
  assert.equal(encoded, 1, 'chunks encoded before export() returned');
  assert.equal(await nextTurn(), 2, 'chunks encoded by the next turn');
  assert.equal(await nextTurn(), 3, 'chunks encoded by the turn after');
  await exporter.forceFlush();
  assert.equal(encoded, 4);
  assert.equal(otlp.requests.length, 1);
  assert.equal(otlp.requests[0]?.items, spans.length);
});

test('when a batch cannot be encoded, then the export fails once through its callback and nothing is sent or left unhandled', async (t) => {
  const { otlp, exporter } = await exporterToReceiver(t);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));

  // A good first chunk, then an object that is not a span in the second: the failure comes after a yield.
  const spans = [...endedSpans(ENCODE_CHUNK), {} as ReadableSpan];
  const results: ExportResult[] = [];
  exporter.export(spans, (r) => results.push(r));
  await exporter.forceFlush();
  await new Promise((r) => setImmediate(r));

  assert.equal(results.length, 1, 'the callback is called exactly once');
  assert.equal(results[0]?.code, 1, 'FAILED');
  assert.ok(results[0]?.error instanceof Error);
  assert.equal(otlp.requests.length, 0);
  assert.deepEqual(unhandled, []);
});
