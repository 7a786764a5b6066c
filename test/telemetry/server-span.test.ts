// The server span is the template's own (service/src/observability/server-span.ts), not the HTTP
// instrumentation's: these prove what that instrumentation used to guarantee. Its attributes follow the
// HTTP semantic conventions, a caller's traceparent makes it a child, a 5xx (and only a 5xx) is an
// error, and everything done for the request (the body read from the socket, the handler after it,
// the SQLite span, the access line logged when the response finishes) runs in its context.
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { test } from 'node:test';
import { API_TOKEN } from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';

const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

test('when requests arrive, then each server span carries the HTTP semantic-convention attributes, its caller as parent, and an error status for 5xx only', async (t) => {
  const { otlp, svc } = await startTracedService(t);
  const port = new URL(svc.url).port;
  const spanOf = (id: string) =>
    otlp.waitForSpan((s) => s.kind === SERVER && s.attributes['http.request.id'] === id);

  // The list refuses unknown query parameters (400): the span still records the redacted query.
  const refused = await fetch(`${svc.url}/api/v1/items?limit=1&access_token=s3cret`, {
    headers: {
      'x-request-id': 'attrs-1',
      'user-agent': 'span-test/1.0',
      traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`,
    },
  });
  assert.equal(refused.status, 400);
  const span = await spanOf('attrs-1');
  assert.equal(span.scope, 'items-api/http-server');
  assert.equal(span.traceId, CALLER_TRACE, "the caller's trace continues");
  assert.equal(span.parentSpanId, CALLER_SPAN);
  assert.equal(span.name, 'GET /api/v1/items');
  assert.deepEqual(
    {
      method: span.attributes['http.request.method'],
      scheme: span.attributes['url.scheme'],
      path: span.attributes['url.path'],
      query: span.attributes['url.query'],
      route: span.attributes['http.route'],
      status: span.attributes['http.response.status_code'],
      serverAddress: span.attributes['server.address'],
      serverPort: span.attributes['server.port'],
      userAgent: span.attributes['user_agent.original'],
      protocol: span.attributes['network.protocol.version'],
      client: span.attributes['client.address'],
      peer: span.attributes['network.peer.address'],
    },
    {
      method: 'GET',
      scheme: 'http',
      path: '/api/v1/items',
      query: 'limit=1&access_token=REDACTED',
      route: '/api/v1/items',
      status: 400,
      serverAddress: '127.0.0.1',
      serverPort: Number(port),
      userAgent: 'span-test/1.0',
      protocol: '1.1',
      client: '127.0.0.1',
      peer: '127.0.0.1',
    },
  );
  assert.equal(typeof span.attributes['network.peer.port'], 'number');
  assert.equal(span.status.code, 0, "a 4xx is the client's error: the status stays unset");
  assert.equal(span.attributes['error.type'], undefined);

  const notFound = await fetch(`${svc.url}/api/v1/items/0b7c1a52-9f1c-4f0e-8b7e-4ad1c2a1f001`, {
    headers: { 'x-request-id': 'attrs-404' },
  });
  assert.equal(notFound.status, 404);
  const client = await spanOf('attrs-404');
  assert.equal(client.status.code, 0);
  assert.equal(client.attributes['error.type'], undefined);
  assert.notEqual(client.traceId, CALLER_TRACE, 'without traceparent the request starts its own trace');

  const failed = await fetch(`${svc.url}/api/debug/error`, { headers: { 'x-request-id': 'attrs-500' } });
  assert.equal(failed.status, 500);
  const error = await spanOf('attrs-500');
  assert.equal(error.status.code, STATUS_ERROR);
  assert.equal(error.attributes['error.type'], '500');

  const odd = await fetch(`${svc.url}/api/v1/items`, {
    method: 'PURGE',
    headers: { 'x-request-id': 'attrs-odd' },
  });
  assert.equal(odd.status, 404);
  const other = await spanOf('attrs-odd');
  assert.equal(
    other.attributes['http.request.method'],
    '_OTHER',
    'methods outside the conventions are bounded',
  );
  assert.equal(other.attributes['http.request.method_original'], 'PURGE');
  assert.equal(other.name, 'HTTP');

  assert.equal(await svc.stop(), 0);
});

test('when a request has a body, then the handler after the body is read, its SQLite span and its access line all belong to the server span', async (t) => {
  const { otlp, svc } = await startTracedService(t);
  const res = await fetch(`${svc.url}/api/v1/items`, {
    method: 'POST',
    headers: {
      'x-request-id': 'body-1',
      authorization: `Bearer ${API_TOKEN}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ name: 'traced', quantity: 1 }),
  });
  assert.equal(res.status, 201);
  const server = await otlp.waitForSpan(
    (s) => s.kind === SERVER && s.attributes['http.request.id'] === 'body-1',
  );
  assert.equal(server.name, 'POST /api/v1/items');
  const insert = await otlp.waitForSpan((s) => s.kind === CLIENT && s.traceId === server.traceId);
  assert.equal(
    insert.parentSpanId,
    server.spanId,
    'the query runs inside the request, after its body was read',
  );
  assert.equal(insert.attributes['db.system.name'], 'sqlite');
  const line = await svc.waitForLog((l) => l.request_id === 'body-1' && l.msg === 'request completed');
  assert.equal(line.trace_id, server.traceId, 'the access line, logged when the response finishes');
  assert.equal(line.span_id, server.spanId);
  assert.equal(await svc.stop(), 0);
});

test('when a client goes away in the middle of its body, then the access line logged as the connection closes still carries the server span', async (t) => {
  const { otlp, svc } = await startTracedService(t);
  const { hostname, port } = new URL(svc.url);
  // The response's 'close' comes from the socket, outside the request's own callbacks: only the
  // context the server span gives the response's events puts the trace id on this line.
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    [
      'POST /api/v1/items HTTP/1.1',
      `Host: ${hostname}:${port}`,
      'X-Request-Id: abort-1',
      `Authorization: Bearer ${API_TOKEN}`,
      'Content-Type: application/json',
      'Content-Length: 100',
      '',
      '{"name":"half',
    ].join('\r\n'),
  );
  const span = await otlp
    .waitForSpan((s) => s.kind === SERVER && s.attributes['http.request.id'] === 'abort-1', 1_000)
    .catch(() => undefined);
  assert.equal(span, undefined, 'the request is still in flight');
  socket.destroy();
  const server = await otlp.waitForSpan(
    (s) => s.kind === SERVER && s.attributes['http.request.id'] === 'abort-1',
  );
  assert.equal(server.attributes['error.type'], 'aborted');
  const line = await svc.waitForLog((l) => l.request_id === 'abort-1' && typeof l.msg === 'string');
  assert.equal(line.trace_id, server.traceId);
  assert.equal(line.span_id, server.spanId);
  assert.equal(await svc.stop(), 0);
});
