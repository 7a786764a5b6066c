// Security headers on every response: success, errors of each kind, health, and production HSTS.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { startRedis } from '../../../test/support/redis-server.ts';
import { ADMIN_TOKEN, auth, jsonHeaders, startTestService } from '../helpers.ts';

function assertSecurityHeaders(res: Response, what: string, hsts = false): void {
  const h = res.headers;
  assert.equal(h.get('content-security-policy'), "default-src 'none';frame-ancestors 'none'", what);
  assert.equal(h.get('x-content-type-options'), 'nosniff', what);
  assert.equal(h.get('x-frame-options'), 'DENY', what);
  assert.equal(h.get('referrer-policy'), 'no-referrer', what);
  assert.equal(h.get('cross-origin-opener-policy'), 'same-origin', what);
  assert.equal(h.get('cross-origin-resource-policy'), 'same-origin', what);
  assert.equal(h.get('cache-control'), 'no-store', what);
  assert.equal(h.get('x-powered-by'), null, what);
  if (hsts)
    assert.match(h.get('strict-transport-security') ?? '', /^max-age=31536000; includeSubDomains/, what);
  else assert.equal(h.get('strict-transport-security'), null, what);
}

test('when any status is returned, then every response carries the security headers and no X-Powered-By', async (t) => {
  const svc = await startTestService(t, { RATE_LIMIT_API_POINTS: '3', BODY_LIMIT_BYTES: '1024' });
  const cases: [string, number, Promise<Response>][] = [
    ['liveness', 200, svc.fetch('/api/health')],
    ['readiness', 200, svc.fetch('/api/health/ready')],
    ['admin health', 200, svc.fetch('/api/health/detailed', { headers: auth(ADMIN_TOKEN) })],
    ['404', 404, svc.fetch('/nope')],
    ['401', 401, svc.fetch('/api/admin/config')],
    ['500', 500, svc.fetch('/api/debug/error')],
    [
      '413',
      413,
      svc.fetch('/api/v1/items', {
        method: 'POST',
        headers: { ...jsonHeaders(), 'content-encoding': 'gzip' },
        body: gzipSync(JSON.stringify({ name: 'x'.repeat(5000), quantity: 1 })),
      }),
    ],
  ];
  for (const [what, status, pending] of cases) {
    const res = await pending;
    assert.equal(res.status, status, what);
    assertSecurityHeaders(res, what);
  }
  let last: Response | undefined;
  for (let i = 0; i < 4; i++) last = await svc.fetch('/api/v1/items');
  assert.equal(last?.status, 429);
  assertSecurityHeaders(last as Response, '429');
});

test('when NODE_ENV is production, then Strict-Transport-Security is sent as well', async (t) => {
  const redis = await startRedis(t);
  const svc = await startTestService(t, {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    METRICS_HOST: '127.0.0.1',
    DATABASE_PATH: ':memory:',
    REDIS_URL: redis.url,
    SHUTDOWN_DELAY_MS: '0',
  });
  assertSecurityHeaders(await svc.fetch('/api/health'), 'liveness', true);
  assertSecurityHeaders(await svc.fetch('/nope'), '404', true);
});
