// A security event is counted, logged (warn, with the trace), added to the span, and carried as a
// Sentry breadcrumb by an error event of its own request only.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startTracedService } from '../support/traced-service.ts';

test('when a write has no token, then the 401 is counted, logged with the trace, and added to the span as an event', async (t) => {
  const { svc, otlp } = await startTracedService(t);
  const res = await fetch(`${svc.url}/api/v1/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"name":"x","quantity":1}',
  });
  assert.equal(res.status, 401);
  // On the active span, which is the server span (Express layers make no spans).
  const span = await otlp.waitForSpan((s) => s.events.some((e) => e.name === 'security.unauthorized'));
  assert.equal(span.kind, 2);
  assert.equal(span.attributes['http.response.status_code'], 401);
  assert.equal(span.attributes['http.route'], '/api/v1/items');
  assert.deepEqual(span.events.find((e) => e.name === 'security.unauthorized')?.attributes, {
    reason: 'missing_token',
    role: 'api',
  });
  const line = await svc.waitForLog((l) => l.event === 'unauthorized');
  assert.equal(line.level, 'warn');
  assert.equal(line.trace_id, span.traceId);
  assert.deepEqual(line.details, { reason: 'missing_token', role: 'api' });
  const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  assert.match(metrics, /^security_events_total\{type="unauthorized"\} 1$/m);
  assert.equal(await svc.stop(), 0);
});

test("when one request records a security event and another fails, then the failure's Sentry event carries no breadcrumb of the first", async (t) => {
  const { svc, sentry } = await startTracedService(t, { otlp: false, sentry: true });
  assert.equal((await fetch(`${svc.url}/api/v1/items`, { method: 'DELETE' })).status, 404);
  assert.equal(
    (await fetch(`${svc.url}/api/v1/items/0b7c1a52-9f1c-4f0e-8b7e-4ad1c2a1f001`, { method: 'DELETE' }))
      .status,
    401,
  );
  assert.equal((await fetch(`${svc.url}/api/debug/error`)).status, 500);
  const event = await sentry.waitForEvent(() => true);
  const crumbs = (event.breadcrumbs as { category?: string }[] | undefined) ?? [];
  assert.deepEqual(
    crumbs.filter((b) => b.category === 'security'),
    [],
  );
  assert.equal(await svc.stop(), 0);
});

test("when a request records a security event and then fails, then the failure's Sentry event carries it as a breadcrumb", async (t) => {
  const { svc, sentry } = await startTracedService(t, {
    otlp: false,
    sentry: true,
    env: { CORS_ORIGINS: 'https://app.example' },
  });
  const res = await fetch(`${svc.url}/api/debug/error`, { headers: { origin: 'https://evil.example' } });
  assert.equal(res.status, 500);
  const event = await sentry.waitForEvent(() => true);
  const crumbs = (event.breadcrumbs as { category?: string; message?: string; data?: unknown }[]) ?? [];
  assert.deepEqual(
    crumbs.filter((b) => b.category === 'security').map((b) => [b.message, b.data]),
    [['cors_rejected', { origin: 'https://evil.example', method: 'GET', preflight: false }]],
  );
  assert.equal(await svc.stop(), 0);
});
