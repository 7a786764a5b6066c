// The access log and request id over HTTP: one JSON line per request, nested request data,
// nothing a client sends can forge a field or a line.
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startTestService } from '../helpers.ts';

const accessLines = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === 'request completed');
const settle = () => new Promise((r) => setTimeout(r, 50));

test('when a request completes, then exactly one access line carries method, path, route, status, duration and request id', async (t) => {
  const svc = await startTestService(t);
  const res = await svc.fetch('/api/v1/items?limit=3', { headers: { 'x-request-id': 'edge-proxy-42' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), 'edge-proxy-42');
  await settle();
  const lines = accessLines(svc.logs.lines);
  assert.equal(lines.length, 1);
  const line = lines[0] ?? {};
  assert.equal(line.request_id, 'edge-proxy-42');
  assert.deepEqual(line.req, { method: 'GET', url: '/api/v1/items?limit=3' });
  assert.deepEqual(line.res, { statusCode: 200 });
  assert.equal(line.route, '/api/v1/items');
  assert.equal(typeof line.duration_ms, 'number');
  assert.equal(line.level, 'info');
  assert.equal(line.service, 'items-api');
  assert.equal(line.environment, 'test');
});

test('when the incoming request id is unsafe or absent, then a UUID is generated, echoed and logged', async (t) => {
  const svc = await startTestService(t);
  const forged = await svc.fetch('/api/v1/items', {
    headers: { 'x-request-id': 'x","level":"fatal","msg":"forged' },
  });
  const none = await svc.fetch('/api/v1/items/0b7c1a52-9f1c-4f0e-8b7e-4ad1c2a1f001');
  await settle();
  const ids = [forged.headers.get('x-request-id'), none.headers.get('x-request-id')];
  for (const id of ids) assert.match(id ?? '', /^[0-9a-f-]{36}$/);
  assert.deepEqual(
    accessLines(svc.logs.lines).map((l) => l.request_id),
    ids,
  );
  const missing = accessLines(svc.logs.lines)[1] ?? {};
  assert.equal(missing.route, '/api/v1/items/:id');
  assert.deepEqual(missing.res, { statusCode: 404 });
});

test('when a header and the query carry a newline-and-JSON payload, then each log call stays one valid JSON line with nothing forged', async (t) => {
  const svc = await startTestService(t);
  const payload = '\n{"level":"fatal","msg":"forged","trace_id":"0"}';
  // Over a raw socket so nothing client-side cleans the request: the query name decodes to a real
  // newline (it reaches the validation security event); the header carries the JSON as sent.
  const rawRequest = [
    `GET /api/v1/items?${encodeURIComponent(payload)}=1 HTTP/1.1`,
    'Host: 127.0.0.1',
    `X-Request-Id: ${JSON.stringify(payload).slice(1, -1)}`,
    `User-Agent: ${payload.trim()}`,
    'Connection: close',
    '',
    '',
  ].join('\r\n');
  const url = new URL(svc.url);
  const before = svc.logs.raw.length;
  const response = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(rawRequest));
    let data = '';
    socket.on('data', (c) => {
      data += c.toString('utf8');
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  assert.match(response, /^HTTP\/1\.1 400/);
  await settle();
  // Every raw line written is one JSON document (LogCapture parsed each), and none is the forgery.
  assert.equal(svc.logs.raw.length, svc.logs.lines.length);
  assert.equal(svc.logs.lines.filter((l) => l.msg === 'forged' || l.level === 'fatal').length, 0);
  const access = accessLines(svc.logs.lines);
  assert.equal(access.length, 1);
  assert.match(String(access[0]?.request_id), /^[0-9a-f-]{36}$/);
  const security = svc.logs.lines.filter((l) => l.msg === 'security event');
  assert.equal(security.length, 1);
  // The decoded newline is inside a nested, escaped string value, never at the root.
  assert.match(JSON.stringify(security[0]?.details), /\\n\{\\"level\\":\\"fatal\\"/);
  // Exactly the access line and the security event: no extra line was forged.
  assert.equal(svc.logs.raw.length - before, 2);
});

test('when the query carries token-like parameters, then the access line shows them redacted and no header is logged', async (t) => {
  const svc = await startTestService(t);
  await svc.fetch('/api/v1/items?limit=2&access_token=abc123&X-Amz-Signature=zzz', {
    headers: { authorization: 'Bearer abc123', cookie: 'sid=abc123' },
  });
  await settle();
  const line = accessLines(svc.logs.lines)[0] ?? {};
  assert.deepEqual(line.req, {
    method: 'GET',
    url: '/api/v1/items?limit=2&access_token=REDACTED&X-Amz-Signature=REDACTED',
  });
  assert.ok(!svc.logs.raw.join('\n').includes('abc123'));
});
