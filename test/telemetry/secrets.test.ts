// A canary secret sent as bearer token, cookie and query parameter must leave no trace anywhere
// the service writes: stdout/stderr, exported spans and log records, Sentry envelopes, /metrics.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startServiceProcess } from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';

test('when a canary secret arrives as bearer token, cookie and query parameter, then it appears in no log, span, Sentry envelope or metric', async (t) => {
  const canary = `canary${randomBytes(12).toString('hex')}`;
  const { svc, otlp, sentry } = await startTracedService(t, {
    sentry: true,
    env: { API_TOKENS: 'the-real-api-token-0123456789' },
  });
  const headers = {
    authorization: `Bearer ${canary}`,
    cookie: `session=${canary}; theme=dark`,
    'x-api-key': canary,
  };
  const paths = [
    `/api/v1/items?access_token=${canary}`,
    `/api/v1/items?token=${canary}&limit=2`,
    `/api/debug/error?api_key=${canary}&password=${canary}`,
    `/no/such/route?Secret=${canary}`,
  ];
  for (const path of paths) await (await fetch(`${svc.url}${path}`, { headers })).arrayBuffer();
  // A write with the canary as token (401) and in a password-like body field.
  const write = await fetch(`${svc.url}/api/v1/items?client_secret=${canary}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x', quantity: 1, password: canary }),
  });
  assert.equal(write.status, 401);

  const classic = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  const openMetrics = await (
    await fetch(`${svc.metricsUrl}/metrics`, { headers: { accept: 'application/openmetrics-text' } })
  ).text();
  await sentry.waitForEvent(() => true);
  assert.equal(await svc.stop(), 0);

  // The traffic really was observed, so the absence below means something.
  assert.ok(otlp.spans.some((s) => s.attributes['url.query'] === 'access_token=REDACTED'));
  assert.ok(svc.logs.some((l) => l.msg === 'request completed'));
  assert.ok(otlp.logs.length > 0);
  assert.equal(sentry.events().length, 1);

  const where: Record<string, string> = {
    stdout: svc.stdout.join('\n'),
    stderr: svc.stderr.join('\n'),
    'OTLP exports': otlp.rawBodies.map((b) => b.toString('latin1')).join('\n'),
    'OTLP decoded': JSON.stringify([otlp.spans, otlp.logs]),
    'Sentry envelopes': sentry.envelopes.map((e) => e.raw).join('\n'),
    '/metrics': classic,
    '/metrics (OpenMetrics)': openMetrics,
  };
  for (const [name, text] of Object.entries(where))
    assert.ok(!text.includes(canary), `canary found in ${name}`);
  const event = sentry.events()[0] ?? {};
  assert.equal(event.request, undefined, 'no request data in Sentry events');
  assert.equal(event.user, undefined, 'no user (IP) in Sentry events');
});

test('when no OTLP endpoint is set, then nothing is exported, nothing complains, and the self-check passes', async (t) => {
  const svc = await startServiceProcess(t, {});
  const res = await fetch(`${svc.url}/api/v1/items`);
  assert.equal(res.status, 200);
  const access = await svc.waitForLog((l) => l.msg === 'request completed');
  assert.match(String(access.trace_id), /^[0-9a-f]{32}$/, 'spans exist locally, so logs still correlate');
  const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  assert.match(metrics, /telemetry_instrumentation_patched\{instrumentation="http"\} 1/);
  assert.match(metrics, /telemetry_instrumentation_patched\{instrumentation="pino"\} 1/);
  assert.equal(await svc.stop(), 0);
  assert.deepEqual(
    svc.stderr.filter((l) => l.trim() !== ''),
    [],
  );
  assert.deepEqual(
    svc.logs.filter((l) => l.level === 'error' || l.level === 'warn'),
    [],
  );
});

test('when the service starts without the --import instrumentation, then the self-check logs an error and reports 0', async (t) => {
  const svc = await startServiceProcess(t, {}, { instrumentation: false });
  const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  assert.match(metrics, /telemetry_instrumentation_patched\{instrumentation="http"\} 0/);
  assert.match(metrics, /telemetry_instrumentation_patched\{instrumentation="pino"\} 0/);
  const error = svc.logs.find((l) => l.level === 'error');
  assert.deepEqual(error?.missing, ['http', 'pino']);
  assert.equal(await svc.stop(), 0);
});

test('when /metrics and the liveness probe are hit, then they create no span and no access log line', async (t) => {
  const { svc, otlp } = await startTracedService(t);
  for (let i = 0; i < 3; i++) {
    assert.equal((await fetch(`${svc.url}/api/health`)).status, 200);
    assert.equal((await fetch(`${svc.metricsUrl}/metrics`)).status, 200);
  }
  assert.equal((await fetch(`${svc.url}/metrics`)).status, 404, 'the API port does not serve /metrics');
  assert.equal((await fetch(`${svc.url}/api/v1/items`)).status, 200);
  await otlp.waitForSpan((s) => s.attributes['http.route'] === '/api/v1/items');
  assert.equal(await svc.stop(), 0);
  const paths = otlp.spans.map((s) => s.attributes['url.path']).filter((p) => p !== undefined);
  assert.ok(!paths.includes('/api/health') && !paths.includes('/metrics'), `span paths: ${paths.join(', ')}`);
  const logged = svc.logs
    .filter((l) => l.msg === 'request completed')
    .map((l) => (l.req as { url: string }).url);
  assert.deepEqual(logged, ['/api/v1/items']);
});

test('when OTEL_SDK_DISABLED is true, then no span is exported, logs carry no trace ids, and the self-check stays quiet', async (t) => {
  const { svc, otlp } = await startTracedService(t, { env: { OTEL_SDK_DISABLED: 'true' } });
  assert.equal((await fetch(`${svc.url}/api/v1/items`)).status, 200);
  const access = await svc.waitForLog((l) => l.msg === 'request completed');
  assert.equal(access.trace_id, undefined);
  const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  assert.doesNotMatch(metrics, /^telemetry_instrumentation_patched\{/m);
  assert.equal(await svc.stop(), 0);
  assert.deepEqual(otlp.requests, []);
  assert.deepEqual(
    svc.logs.filter((l) => l.level === 'error'),
    [],
  );
});
