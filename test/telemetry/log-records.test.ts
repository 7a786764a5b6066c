// OTLP log records are made from the service's log lines in pino's worker thread, not on the
// request thread: a line logged during a request still reaches an OTLP receiver with that request's
// trace, the same resource as the spans, and nothing queued in the worker is lost when the process
// stops or crashes.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { ROOT } from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';

const SERVER = 2;
// Longer than any test here: records reach the receiver only because the worker is flushed.
const NEVER = '600000';

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  test(`when a line is logged during a request (OTLP ${protocol}), then its record carries the request's trace and span, the line's fields, and the spans' resource`, async (t) => {
    const { svc, otlp } = await startTracedService(t, { protocol });
    const traceId = randomBytes(16).toString('hex');
    const res = await fetch(`${svc.url}/api/v1/items/not-a-uuid`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, 'x-request-id': 'rec-1' },
    });
    assert.equal(res.status, 400);

    const server = await otlp.waitForSpan((s) => s.traceId === traceId && s.kind === SERVER);
    // Two lines in this request: the security event (warn) and the access line (info).
    const warn = await otlp.waitForLog((l) => l.traceId === traceId && l.body === 'security event');
    const access = await otlp.waitForLog((l) => l.traceId === traceId && l.body === 'request completed');
    for (const record of [warn, access]) {
      assert.equal(record.spanId, server.spanId);
      assert.equal(record.flags, 1, 'sampled');
      assert.equal(record.resource['service.name'], 'items-api');
      assert.equal(record.resource['deployment.environment.name'], 'test');
      assert.equal(record.resource['service.instance.id'], server.resource['service.instance.id']);
      assert.equal(
        record.attributes.trace_id,
        undefined,
        'the trace is the record context, not an attribute',
      );
    }
    assert.equal(warn.severityText, 'warn');
    assert.equal(warn.severityNumber, 13);
    assert.equal(warn.attributes.event, 'validation_failed');
    assert.equal(access.severityText, 'info');
    assert.equal(access.severityNumber, 9);
    assert.equal(access.attributes.request_id, 'rec-1');
    assert.equal(access.attributes.route, '/api/v1/items/:id');
    assert.equal(access.attributes.service, 'items-api');
    // The record's time is the line's, not the time it was exported.
    const line = await svc.waitForLog((l) => l.request_id === 'rec-1');
    assert.equal(BigInt(access.timeUnixNano) / 1_000_000n, BigInt(Date.parse(String(line.time))));
    assert.equal(await svc.stop(), 0);
  });
}

test('when the service stops with log records still queued in the worker, then they are exported before it exits', async (t) => {
  const { svc, otlp } = await startTracedService(t, { env: { OTEL_BLRP_SCHEDULE_DELAY: NEVER } });
  for (let i = 0; i < 20; i++)
    assert.equal(
      (await fetch(`${svc.url}/api/v1/items`, { headers: { 'x-request-id': `q-${i}` } })).status,
      200,
    );
  assert.equal(await svc.stop(), 0);
  const ids = otlp.logs.filter((l) => l.body === 'request completed').map((l) => l.attributes.request_id);
  assert.deepEqual(
    ids,
    Array.from({ length: 20 }, (_, i) => `q-${i}`),
  );
  assert.ok(
    otlp.logs.some((l) => l.body === 'shutting down'),
    'lines of the shutdown itself',
  );
});

test('when the process dies of an uncaught exception, then the lines it logged before still reach the receiver', async (t) => {
  const otlp = await startOtlpReceiver();
  t.after(() => otlp.close());
  const child = spawn(
    process.execPath,
    ['--import', './service/src/instrumentation.ts', 'test/telemetry/fixtures/log-then-crash.ts', '30'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_BLRP_SCHEDULE_DELAY: NEVER,
      },
      stdio: 'ignore',
    },
  );
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 1);
  const seqs = otlp.logs.filter((l) => l.body === 'fixture line').map((l) => l.attributes.seq);
  assert.deepEqual(
    seqs,
    Array.from({ length: 30 }, (_, i) => i),
  );
  assert.ok(otlp.logs.some((l) => l.body === 'fatal error, exiting' && l.severityText === 'fatal'));
});
