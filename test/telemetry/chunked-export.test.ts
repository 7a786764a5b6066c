// A batch of spans larger than one encoding chunk (ENCODE_CHUNK items) is encoded chunk by chunk
// across turns of the event loop and still leaves as ONE OTLP request that decodes to every span of
// the batch, each once: the receiver sees one ResourceSpans entry per chunk, in protobuf and in JSON. Log records are encoded
// in the log worker thread, off the request loop, in one run per batch (still every record once).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ENCODE_CHUNK } from '../../service/src/telemetry/otlp-export.ts';
import { startTracedService } from '../support/traced-service.ts';

// Not a multiple of the chunk, so the last chunk is a short one.
const BATCH = ENCODE_CHUNK * 2 + 22;
const REQUESTS = BATCH + 40;

for (const [protocol, contentType] of [
  ['http/protobuf', 'application/x-protobuf'],
  ['http/json', 'application/json'],
] as const)
  test(`when a batch holds more items than one encoding chunk (${protocol}), then it is exported as one request carrying every item once, one resource entry per chunk`, async (t) => {
    const { svc, otlp } = await startTracedService(t, {
      protocol,
      env: {
        // Only a full batch leaves before the shutdown flush: the delay never expires in this test.
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(BATCH),
        OTEL_BLRP_SCHEDULE_DELAY: '600000',
        OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: String(BATCH),
        RATE_LIMIT_GENERAL_POINTS: '100000',
        RATE_LIMIT_API_POINTS: '100000',
      },
    });

    const ids = Array.from({ length: REQUESTS }, (_, i) => `chunk-${i}`);
    for (let i = 0; i < ids.length; i += 20) {
      const statuses = await Promise.all(
        ids
          .slice(i, i + 20)
          .map(
            async (id) =>
              (await fetch(`${svc.url}/api/v1/items`, { headers: { 'x-request-id': id } })).status,
          ),
      );
      assert.deepEqual(
        statuses,
        statuses.map(() => 200),
      );
    }

    const full = (path: string) => otlp.waitForRequest((r) => r.path === path && r.items === BATCH);
    const chunks = Math.ceil(BATCH / ENCODE_CHUNK);
    const spanExport = await full('/v1/traces');
    const logExport = await full('/v1/logs');
    assert.equal(spanExport.groups, chunks, 'one ResourceSpans per encoded chunk');
    assert.equal(logExport.groups, 1, 'log records: one run in the worker thread, one ResourceLogs');
    assert.equal(spanExport.contentType, contentType);

    // Nothing lost or doubled: after the shutdown flush every request has exactly one server span and
    // one access line, and the full batch's spans are all distinct.
    assert.equal(await svc.stop(), 0);
    for (const id of ids) {
      const server = otlp.spans.filter((s) => s.kind === 2 && s.attributes['http.request.id'] === id);
      assert.equal(server.length, 1, `server spans of ${id}`);
      const lines = otlp.logs.filter((l) => l.attributes.request_id === id && l.body === 'request completed');
      assert.equal(lines.length, 1, `access log records of ${id}`);
    }
    const spanIds = otlp.spans.map((s) => s.spanId);
    assert.equal(new Set(spanIds).size, spanIds.length, 'no span exported twice');
  });
