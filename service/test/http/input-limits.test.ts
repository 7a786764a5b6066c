// Input and connection limits: 413 (also inflated gzip), 415, malformed JSON, slow-header clients cut off.
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { expectProblem, jsonHeaders, startTestService } from '../helpers.ts';

test('when a body exceeds BODY_LIMIT_BYTES, then 413 body-too-large and a security event', async (t) => {
  const svc = await startTestService(t, { BODY_LIMIT_BYTES: '2048' });
  const res = await svc.fetch('/api/v1/items', {
    method: 'POST',
    headers: jsonHeaders(),
    body: JSON.stringify({ name: 'x'.repeat(4000), quantity: 1 }),
  });
  assert.equal((await expectProblem(res, 413)).type, '/problems/body-too-large');
  assert.equal(svc.logs.lines.filter((l) => l.event === 'body_too_large').length, 1);
});

test('when a small gzip body inflates past the limit, then 413 too', async (t) => {
  const svc = await startTestService(t, { BODY_LIMIT_BYTES: '2048' });
  const bomb = gzipSync(JSON.stringify({ name: ' '.repeat(200_000), quantity: 1 }));
  assert.ok(bomb.length < 2048, `compressed ${bomb.length} bytes fits under the limit`);
  const res = await svc.fetch('/api/v1/items', {
    method: 'POST',
    headers: { ...jsonHeaders(), 'content-encoding': 'gzip' },
    body: bomb,
  });
  await expectProblem(res, 413);
});

test('when a write is not JSON, then 415; when JSON is malformed, then 400 that never echoes the body', async (t) => {
  const svc = await startTestService(t);
  const form = await svc.fetch('/api/v1/items', {
    method: 'POST',
    headers: { ...jsonHeaders(), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=x&quantity=1',
  });
  assert.equal((await expectProblem(form, 415)).type, '/problems/unsupported-media-type');
  const secret = 'SECRET-PAYLOAD-1234';
  const malformed = await svc.fetch('/api/v1/items', {
    method: 'POST',
    headers: jsonHeaders(),
    body: `{"name": "${secret}", `,
  });
  const body = await expectProblem(malformed, 400);
  assert.equal(body.type, '/problems/malformed-body');
  assert.doesNotMatch(JSON.stringify(body), new RegExp(secret));
  assert.ok(!svc.logs.raw.some((l) => l.includes(secret)), 'the raw body is never logged');
});

test('when a client sends its headers too slowly, then the server cuts it off', async (t) => {
  const svc = await startTestService(t, { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' });
  const { port } = new URL(svc.url);
  const socket = connect(Number(port), '127.0.0.1');
  t.after(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const started = Date.now();
  socket.write('GET /api/v1/items HTTP/1.1\r\nHost: x\r\n');
  // One header line every 300 ms: never finishing, always just alive (slowloris).
  const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 300);
  t.after(() => clearInterval(drip));
  let received = '';
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
  });
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  clearInterval(drip);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 900, `not cut before the headers timeout (${elapsed} ms)`);
  assert.ok(elapsed < 5_000, `cut off within the timeout plus the check interval (${elapsed} ms)`);
  assert.match(received, /^HTTP\/1\.1 408/);
});

test('when the request head exceeds HTTP_MAX_HEADER_BYTES, then 431 and nothing reaches the app', async (t) => {
  const svc = await startTestService(t, { HTTP_MAX_HEADER_BYTES: '4096' });
  const res = await svc.fetch('/api/v1/items', { headers: { 'x-padding': 'a'.repeat(8_000) } });
  assert.equal(res.status, 431);
  const ok = await svc.fetch('/api/v1/items', { headers: { 'x-padding': 'a'.repeat(1_000) } });
  assert.equal(ok.status, 200);
  assert.equal(svc.server.keepAliveTimeout, 65_000, 'keep-alive outlives common load-balancer idle timeouts');
  assert.equal(svc.server.headersTimeout, 10_000);
  assert.equal(svc.server.requestTimeout, 30_000);
});
