// Outgoing calls are traced and measured whatever the client: a request whose handler calls a
// downstream with fetch() (undici) and with node:http makes one trace across the server span, the
// client spans and the downstream's received traceparent, and http_client_request_duration_seconds
// series with bounded labels and the client span as exemplar. The exporters' and Sentry's own
// traffic makes neither spans nor series.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDownstreamStub } from '../support/downstream-stub.ts';
import type { ReceivedSpan } from '../support/otlp-receiver.ts';
import { freePort } from '../support/process.ts';
import { startTracedService } from '../support/traced-service.ts';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const ENTRY = 'test/support/fixtures/service-with-downstream.ts';
const UNDICI_SCOPE = '@opentelemetry/instrumentation-undici';
const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
const hexId = (bytes: number) => randomBytes(bytes).toString('hex');

async function scrape(metricsUrl: string): Promise<string[]> {
  const res = await fetch(`${metricsUrl}/metrics`, {
    headers: { accept: 'application/openmetrics-text; version=1.0.0' },
  });
  return (await res.text()).split('\n');
}

const clientCount = (lines: string[], labels: string) =>
  lines.find((l) => l.startsWith(`http_client_request_duration_seconds_count{${labels}}`));

test('when a handler calls a downstream with fetch() and node:http, then server span, client spans and the received traceparent share one trace, and the calls are measured', async (t) => {
  const stub = await startDownstreamStub();
  t.after(() => stub.close());
  const refused = await freePort();
  const { svc, otlp } = await startTracedService(t, {
    entry: ENTRY,
    env: {
      // No tail sampler behind this service: every trace is kept, so every call may be an exemplar.
      TAIL_SAMPLING_RATIO_PERCENT: '100',
      // A secret in the query string, a downstream that answers 503, one that refuses the connection.
      DOWNSTREAM_URLS: [
        `${stub.url}/ok?access_token=s3cret&page=2`,
        `${stub.url}/fail`,
        `http://127.0.0.1:${refused}/`,
      ].join(','),
    },
  });

  const traceId = hexId(16);
  const res = await fetch(`${svc.url}/api/v1/items`, {
    headers: { traceparent: `00-${traceId}-${hexId(8)}-01` },
  });
  assert.equal(res.status, 200);

  const server = await otlp.waitForSpan((s) => s.traceId === traceId && s.kind === SERVER);
  const clientSpans = async (scope: string): Promise<ReceivedSpan[]> => {
    await otlp.waitForSpan((s) => s.traceId === traceId && s.scope === scope && s.kind === CLIENT);
    // The three calls of each client end within the request; give the exporter one more batch.
    await sleep(300);
    return otlp.spans.filter((s) => s.traceId === traceId && s.scope === scope);
  };

  for (const [client, scope] of [
    ['fetch', UNDICI_SCOPE],
    ['http', HTTP_SCOPE],
  ] as const) {
    await t.test(`${client}: one client span per call, each a child of the server span`, async () => {
      const spans = await clientSpans(scope);
      assert.equal(spans.length, 3, spans.map((s) => `${s.name} ${s.attributes['url.full']}`).join('; '));
      for (const s of spans) {
        assert.equal(s.kind, CLIENT);
        assert.equal(s.parentSpanId, server.spanId, 'the client span is a child of the server span');
        assert.equal(s.name, 'GET');
        assert.equal(s.attributes['http.request.method'], 'GET');
        assert.equal(s.attributes['server.address'], '127.0.0.1');
      }
      const ok = spans.find((s) => s.attributes['http.response.status_code'] === 200);
      assert.ok(ok, 'the call answered 200 has a span');
      assert.equal(ok.attributes['server.port'], Number(new URL(stub.url).port));
      // Redacted as on server spans, whatever the client.
      assert.equal(ok.attributes['url.full'], `${stub.url}/ok?access_token=REDACTED&page=2`);
      if (client === 'fetch') assert.equal(ok.attributes['url.query'], 'access_token=REDACTED&page=2');
      const failed = spans.find((s) => s.attributes['http.response.status_code'] === 503);
      assert.equal(failed?.status.code, ERROR, 'a 503 marks the client span as an error');
      const unreachable = spans.find((s) => s.attributes['http.response.status_code'] === undefined);
      // Each instrumentation names it its own way (undici: the code; node:http: the class, `Error`).
      assert.equal(unreachable?.attributes['error.type'], client === 'fetch' ? 'ECONNREFUSED' : 'Error');
      assert.equal(unreachable?.status.code, ERROR);

      // The downstream received the client span's context: same trace, parent = the client span.
      const received = stub.calls.filter((c) => c.client === client);
      assert.equal(received.length, 2, 'two calls reached the stub');
      for (const call of received) {
        const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(call.traceparent ?? '');
        assert.ok(match, `a sampled traceparent reached the downstream: ${call.traceparent}`);
        assert.equal(match[1], traceId);
        assert.ok(
          spans.some((s) => s.spanId === match[2]),
          'its parent id is the client span of that call',
        );
      }
    });
  }

  await t.test(
    'the metric has one series per method, host and status (error_type for no response), with the client span as exemplar',
    async () => {
      const lines = await scrape(svc.metricsUrl);
      const labels = (status: string, error: string) =>
        `http_request_method="GET",server_address="127.0.0.1",http_response_status_code="${status}",error_type="${error}"`;
      // Each target was called twice (fetch, node:http).
      assert.match(clientCount(lines, labels('200', '')) ?? '', / 2$/);
      assert.match(clientCount(lines, labels('503', '')) ?? '', / 2$/);
      assert.match(clientCount(lines, labels('', 'ECONNREFUSED')) ?? '', / 2$/);
      const exemplars = lines
        .filter((l) => l.startsWith('http_client_request_duration_seconds_bucket{') && l.includes(traceId))
        .map((l) => /span_id="([0-9a-f]{16})"/.exec(l)?.[1]);
      assert.ok(exemplars.length > 0, 'a bucket carries the trace as exemplar');
      const clientIds = new Set(otlp.spans.filter((s) => s.kind === CLIENT).map((s) => s.spanId));
      for (const id of exemplars) assert.ok(id && clientIds.has(id), `exemplar span ${id} is a client span`);
    },
  );
});

test('when Sentry reports an error and the exporters send spans and logs, then their own HTTP calls make no client span and no metric series', async (t) => {
  // No DOWNSTREAM_URLS: any outgoing call the service measures or traces is its own telemetry's.
  const { svc, otlp, sentry } = await startTracedService(t, { sentry: true, entry: ENTRY });

  const traceId = hexId(16);
  const res = await fetch(`${svc.url}/api/debug/error`, {
    headers: { traceparent: `00-${traceId}-${hexId(8)}-01` },
  });
  assert.equal(res.status, 500);
  await sentry.waitForEvent(() => true);
  await otlp.waitForSpan((s) => s.traceId === traceId && s.kind === SERVER);
  await otlp.waitForLog((l) => l.traceId === traceId);
  // Spans exported after the Sentry POST and the first exports answered would show those calls.
  await sleep(500);
  await fetch(`${svc.url}/api/v1/items`);
  await sleep(500);

  assert.ok(sentry.envelopes.length > 0 && otlp.requests.length >= 2, 'the telemetry did send');
  const httpClientSpans = otlp.spans.filter((s) => s.scope === UNDICI_SCOPE || s.scope === HTTP_SCOPE);
  assert.deepEqual(
    httpClientSpans.map((s) => `${s.name} ${s.attributes['url.full']}`),
    [],
  );
  const series = (await scrape(svc.metricsUrl)).filter((l) =>
    l.startsWith('http_client_request_duration_seconds_count{'),
  );
  assert.deepEqual(series, []);
});
