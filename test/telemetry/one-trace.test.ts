// The headline: one incoming traceparent leaves the same trace id in the exported server span (with
// http.route, under ESM), the SQLite child span, the access log line, the exemplar on /metrics, the
// OTel log records, and for /api/debug/error the Sentry event and the problem+json traceId.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startTracedService } from '../support/traced-service.ts';

const SERVER = 2;
const hexId = (bytes: number) => randomBytes(bytes).toString('hex');

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  test(`when a request arrives with a traceparent and OTLP is ${protocol}, then span, SQLite span, access log, exemplar, log records and Sentry share its trace id`, async (t) => {
    const { svc, otlp, sentry } = await startTracedService(t, {
      protocol,
      sentry: true,
      env: {
        SERVICE_VERSION: '9.8.7',
        // No tail sampler behind this service: every trace is kept, so every request is an exemplar.
        TAIL_SAMPLING_RATIO_PERCENT: '100',
      },
    });

    const traceId = hexId(16);
    const parent = hexId(8);
    const res = await fetch(`${svc.url}/api/v1/items?limit=5`, {
      headers: { traceparent: `00-${traceId}-${parent}-01`, 'x-request-id': 'req-headline-1' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'req-headline-1');

    // The server span: continues the incoming trace, carries the route template (the ESM trap).
    const server = await otlp.waitForSpan((s) => s.traceId === traceId && s.kind === SERVER);
    assert.equal(server.parentSpanId, parent);
    assert.equal(server.attributes['http.route'], '/api/v1/items');
    assert.equal(server.attributes['http.request.id'], 'req-headline-1');
    assert.equal(server.resource['service.name'], 'items-api');
    assert.equal(server.resource['service.version'], '9.8.7');
    assert.equal(server.resource['deployment.environment.name'], 'test');
    assert.match(String(server.resource['service.instance.id']), /^[0-9a-f-]{36}$/);

    // SQLite spans in the same trace, children of the server span, parameterised text only.
    const db = await otlp.waitForSpan(
      (s) => s.traceId === traceId && s.attributes['db.system.name'] === 'sqlite',
    );
    assert.equal(db.parentSpanId, server.spanId, 'the SQLite span is a child of the server span');
    assert.match(String(db.attributes['db.query.text']), /\?/);
    assert.equal(server.name, 'GET /api/v1/items');
    // Express layers do not flood the trace: besides the server span there are only SQLite spans.
    const others = otlp.spans.filter(
      (s) =>
        s.traceId === traceId && s.spanId !== server.spanId && s.attributes['db.system.name'] !== 'sqlite',
    );
    assert.deepEqual(
      others.map((s) => s.name),
      [],
    );

    // The access log line.
    const access = await svc.waitForLog(
      (l) => l.msg === 'request completed' && l.request_id === 'req-headline-1',
    );
    assert.equal(svc.logs.filter((l) => l.request_id === 'req-headline-1').length, 1, 'one line');
    assert.equal(access.trace_id, traceId);
    assert.equal(access.span_id, server.spanId);
    assert.equal(access.trace_flags, '01');
    assert.equal(access.route, '/api/v1/items');
    assert.deepEqual(access.req, { method: 'GET', url: '/api/v1/items?limit=5' });
    assert.deepEqual(access.res, { statusCode: 200 });
    assert.equal(typeof access.duration_ms, 'number');
    assert.equal(access.service, 'items-api');
    assert.equal(access.environment, 'test');

    // The exemplar, when the scraper asks for OpenMetrics.
    const om = await (
      await fetch(`${svc.metricsUrl}/metrics`, {
        headers: { accept: 'application/openmetrics-text; version=1.0.0' },
      })
    ).text();
    const exemplar = om
      .split('\n')
      .find(
        (l) =>
          l.startsWith('http_server_request_duration_seconds_bucket{') &&
          l.includes('http_route="/api/v1/items"') &&
          l.includes(`trace_id="${traceId}"`),
      );
    assert.ok(exemplar, 'a bucket carries the trace as exemplar');
    assert.ok(exemplar.includes(`span_id="${server.spanId}"`));
    assert.ok(om.trimEnd().endsWith('# EOF'));

    // Log records over OTLP carry the trace too.
    const record = await otlp.waitForLog((l) => l.traceId === traceId && l.body === 'request completed');
    assert.equal(record.spanId, server.spanId);

    // An unexpected error: problem+json traceId and the Sentry event name the same trace.
    const errParent = hexId(8);
    const errRes = await fetch(`${svc.url}/api/debug/error?page=2`, {
      headers: { traceparent: `00-${traceId}-${errParent}-01`, 'x-request-id': 'req-headline-err' },
    });
    assert.equal(errRes.status, 500);
    const problem = (await errRes.json()) as { traceId?: string };
    assert.equal(problem.traceId, traceId);
    const errServer = await otlp.waitForSpan(
      (s) => s.traceId === traceId && s.kind === SERVER && s.parentSpanId === errParent,
    );
    assert.equal(errServer.attributes['http.route'], '/api/debug/error');
    const event = await sentry.waitForEvent(() => true);
    const ctx = (event.contexts as Record<string, Record<string, unknown>>).trace;
    assert.equal(ctx?.trace_id, traceId);
    assert.equal(ctx?.span_id, errServer.spanId);
    assert.equal(event.environment, 'test');
    assert.equal(event.release, 'items-api@9.8.7');
    // The request it came from, without its query (set when the error was reported).
    assert.deepEqual(event.tags, {
      request_id: 'req-headline-err',
      'http.route': '/api/debug/error',
      'http.request.method': 'GET',
      'url.path': '/api/debug/error',
    });

    // Neither the exporters' nor Sentry's own HTTP calls became spans.
    assert.deepEqual(
      otlp.spans.filter((s) => s.kind === 3 /* CLIENT */ && s.scope.includes('http')),
      [],
    );
    assert.equal(await svc.stop(), 0);
  });
}

test('when a 4xx is answered, then Sentry gets no event; when the process stops, then pending events are flushed', async (t) => {
  const { svc, sentry } = await startTracedService(t, { otlp: false, sentry: true });
  assert.equal((await fetch(`${svc.url}/api/v1/items/not-a-uuid`)).status, 400);
  assert.equal((await fetch(`${svc.url}/no/such/route`)).status, 404);
  assert.equal((await fetch(`${svc.url}/api/debug/error`)).status, 500);
  assert.equal(await svc.stop(), 0);
  const events = sentry.events();
  assert.equal(events.length, 1, 'only the 500 is reported');
  const exception = JSON.stringify(events[0]?.exception);
  assert.match(exception, /Deliberate error/);
});
