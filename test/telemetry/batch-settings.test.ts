// The standard batch-processor variables reach both processors: an export never carries more spans
// (OTEL_BSP_MAX_EXPORT_BATCH_SIZE) or log records (OTEL_BLRP_MAX_EXPORT_BATCH_SIZE) than set.
// The SDK's processors read no environment themselves, so each variable works only if sdk.ts passes it.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startTracedService } from '../support/traced-service.ts';

const REQUESTS = 12;

test('when OTEL_BSP_MAX_EXPORT_BATCH_SIZE and OTEL_BLRP_MAX_EXPORT_BATCH_SIZE are set, then no export carries more spans or log records than that', async (t) => {
  const { svc, otlp } = await startTracedService(t, {
    env: { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '3', OTEL_BLRP_MAX_EXPORT_BATCH_SIZE: '2' },
  });

  // Sent together, so both queues hold more than one batch at once.
  const ids = Array.from({ length: REQUESTS }, (_, i) => `batch-${i}`);
  const statuses = await Promise.all(
    ids.map(
      async (id) => (await fetch(`${svc.url}/api/v1/items`, { headers: { 'x-request-id': id } })).status,
    ),
  );
  assert.deepEqual(
    statuses,
    ids.map(() => 200),
  );

  for (const id of ids) {
    await otlp.waitForSpan((s) => s.kind === 2 && s.attributes['http.request.id'] === id);
    await otlp.waitForLog((l) => l.attributes.request_id === id && l.body === 'request completed');
  }
  const sizes = (path: string) => otlp.requests.filter((r) => r.path === path).map((r) => r.items);
  const spanBatches = sizes('/v1/traces');
  const logBatches = sizes('/v1/logs');
  assert.ok(Math.max(...spanBatches) <= 3, `span batches ${spanBatches.join(',')}`);
  assert.ok(Math.max(...logBatches) <= 2, `log record batches ${logBatches.join(',')}`);
  // Full batches were sent: the limit was reached, not merely never approached.
  assert.ok(spanBatches.includes(3), `span batches ${spanBatches.join(',')}`);
  assert.ok(logBatches.includes(2), `log record batches ${logBatches.join(',')}`);
});
