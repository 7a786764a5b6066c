// Health endpoints: liveness, readiness with dependency detail, and the admin-only views.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { startRedis } from '../../../test/support/redis-server.ts';
import { ADMIN_TOKEN, API_TOKEN, auth, startTestService } from '../helpers.ts';

describe('health endpoints', () => {
  test('when liveness is asked, then 200 {"status":"ok"} without checking dependencies', async (t) => {
    const svc = await startTestService(t);
    await svc.deps.database.close();
    const res = await svc.fetch('/api/health');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('when SQLite and Redis are up, then readiness is ok with each check and every tier on Redis', async (t) => {
    const redis = await startRedis(t);
    const svc = await startTestService(t, { REDIS_URL: redis.url });
    const res = await svc.fetch('/api/health/ready');
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string; latencyMs: number }>;
      rateLimit: Record<string, { backend: string; degraded: boolean }>;
    };
    assert.equal(body.status, 'ok');
    assert.equal(body.checks.sqlite?.status, 'up');
    assert.equal(body.checks.redis?.status, 'up');
    assert.equal(typeof body.checks.redis?.latencyMs, 'number');
    for (const tier of ['general', 'api', 'admin'])
      assert.deepEqual(
        { backend: body.rateLimit[tier]?.backend, degraded: body.rateLimit[tier]?.degraded },
        { backend: 'redis', degraded: false },
      );
  });

  test('when SQLite fails, then readiness is 503 unavailable without leaking the error', async (t) => {
    const svc = await startTestService(t);
    await svc.deps.database.close();
    const res = await svc.fetch('/api/health/ready');
    assert.equal(res.status, 503);
    const text = await res.text();
    assert.match(text, /"status":"unavailable"/);
    assert.doesNotMatch(text, /database is not open|Error|at /);
  });

  test('when the admin views are asked without the admin token, then 401 or 403', async (t) => {
    const svc = await startTestService(t);
    for (const path of ['/api/health/detailed', '/api/health/security', '/api/health/performance']) {
      assert.equal((await svc.fetch(path)).status, 401, path);
      assert.equal((await svc.fetch(path, { headers: auth(API_TOKEN) })).status, 403, path);
    }
  });

  test('when the admin asks, then detailed, security and performance views answer without secrets', async (t) => {
    const svc = await startTestService(t, { CORS_ORIGINS: 'https://app.example.com', TRUST_PROXY: '1' });
    await svc.fetch('/api/v1/items', { headers: { origin: 'https://evil.example.com' } });
    await svc.fetch('/nope');
    const get = async (path: string) => {
      const res = await svc.fetch(path, { headers: auth(ADMIN_TOKEN) });
      assert.equal(res.status, 200, path);
      const text = await res.text();
      assert.ok(!text.includes(ADMIN_TOKEN) && !text.includes(API_TOKEN), `${path} leaks no token`);
      assert.doesNotMatch(text, /\n\s+at |\.ts:\d+/, `${path} has no stack trace`);
      return JSON.parse(text) as Record<string, Record<string, unknown>>;
    };

    const detailed = await get('/api/health/detailed');
    assert.equal((detailed.dependencies?.sqlite as { status: string } | undefined)?.status, 'up');
    assert.equal((detailed.dependencies?.redis as { status: string } | undefined)?.status, 'not_configured');
    assert.equal(typeof detailed.uptimeSeconds, 'number');
    assert.equal(typeof detailed.memory?.heapUsedBytes, 'number');
    assert.equal(
      typeof (detailed.eventLoop?.delayBeyondIntervalMs as { p99?: unknown } | undefined)?.p99,
      'number',
    );
    assert.equal(typeof detailed.eventLoop?.utilization, 'number');
    assert.equal(typeof detailed.version, 'string');

    const security = await get('/api/health/security');
    assert.equal(security.securityEventsSinceStart?.cors_rejected, 1);
    assert.equal(security.securityEventsSinceStart?.rate_limited, 0);
    assert.deepEqual(security.posture?.cors, {
      mode: 'allowlist',
      origins: ['https://app.example.com'],
      credentials: false,
    });
    assert.equal(security.posture?.trustProxy, '1 hop(s)');
    assert.equal(
      (security.rateLimit?.tiers as Record<string, { backend: string }> | undefined)?.api?.backend,
      'memory',
    );

    const perf = await get('/api/health/performance');
    const lastMinute = perf.requests?.lastMinute as {
      requests: number;
      p99Ms: number;
      ratePerSecond: number;
    };
    assert.ok(lastMinute.requests >= 4, `counted ${lastMinute.requests}`);
    assert.ok(lastMinute.p99Ms > 0 && lastMinute.ratePerSecond > 0);
    assert.equal(typeof perf.heap?.limitBytes, 'number');
  });
});
