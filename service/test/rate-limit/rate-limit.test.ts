// Tiered rate limits on the in-memory store (no REDIS_URL): exact limits, one count per request
// per tier, IETF RateLimit headers, Retry-After and the problem body.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ADMIN_TOKEN, auth, expectProblem, startTestService } from '../helpers.ts';

const small = {
  RATE_LIMIT_GENERAL_POINTS: '8',
  RATE_LIMIT_API_POINTS: '5',
  RATE_LIMIT_ADMIN_POINTS: '3',
  RATE_LIMIT_GENERAL_DURATION_SECONDS: '900',
  RATE_LIMIT_API_DURATION_SECONDS: '600',
  RATE_LIMIT_ADMIN_DURATION_SECONDS: '3600',
};

/** Parses `"general";r=7;t=900, "api";r=4;t=600` into { general: { r: 7, t: 900 }, ... }. */
function items(header: string | null): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const item of (header ?? '').split(',').map((s) => s.trim())) {
    const [name, ...params] = item.split(';');
    const key = JSON.parse(name ?? '""') as string;
    out[key] = Object.fromEntries(params.map((p) => [p.split('=')[0], Number(p.split('=')[1])]));
  }
  return out;
}

describe('rate limits (in memory)', () => {
  test('when the api tier is exhausted, then the next /api/v1 request is 429 with Retry-After and problem+json', async (t) => {
    const svc = await startTestService(t, small);
    for (let i = 1; i <= 5; i++) {
      const res = await svc.fetch('/api/v1/items');
      assert.equal(res.status, 200, `request ${i}`);
      const policy = items(res.headers.get('ratelimit-policy'));
      assert.deepEqual(policy, { general: { q: 8, w: 900 }, api: { q: 5, w: 600 } });
      const state = items(res.headers.get('ratelimit'));
      // One count per request per tier: each tier's remaining drops by exactly one.
      assert.equal(state.general?.r, 8 - i);
      assert.equal(state.api?.r, 5 - i);
      assert.ok((state.api?.t ?? 0) > 0 && (state.api?.t ?? 0) <= 600);
    }
    const res = await svc.fetch('/api/v1/items');
    const body = await expectProblem(res, 429);
    assert.equal(body.type, '/problems/rate-limited');
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter > 590 && retryAfter <= 600,
      `Retry-After ${retryAfter}`,
    );
    assert.equal(items(res.headers.get('ratelimit')).api?.r, 0);
    assert.equal(items(res.headers.get('ratelimit')).api?.t, retryAfter, 'RateLimit t matches Retry-After');
    assert.equal(svc.logs.lines.filter((l) => l.event === 'rate_limited').length, 1);
  });

  test('when the general tier is exhausted, then every limited route answers 429 but liveness and readiness do not', async (t) => {
    const svc = await startTestService(t, small);
    for (let i = 0; i < 8; i++) assert.notEqual((await svc.fetch(`/no/such/${i}`)).status, 429);
    await expectProblem(await svc.fetch('/no/such/route'), 429);
    await expectProblem(await svc.fetch('/api/v1/items'), 429);
    for (let i = 0; i < 20; i++) {
      const live = await svc.fetch('/api/health');
      assert.equal(live.status, 200);
      assert.equal(live.headers.get('ratelimit'), null, 'liveness is not limited');
      assert.equal((await svc.fetch('/api/health/ready')).status, 200);
    }
    const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    assert.match(
      metrics,
      /rate_limit_decisions_total\{tier="general",decision="allowed",backend="memory"\} 8/,
    );
    assert.match(
      metrics,
      /rate_limit_decisions_total\{tier="general",decision="rejected",backend="memory"\} 2/,
    );
  });

  test('when admin routes are called, then the admin tier counts every attempt, with or without a valid token', async (t) => {
    const svc = await startTestService(t, small);
    assert.equal((await svc.fetch('/api/admin/config')).status, 401);
    assert.equal((await svc.fetch('/api/health/security', { headers: auth('wrong') })).status, 401);
    const ok = await svc.fetch('/api/health/detailed', { headers: auth(ADMIN_TOKEN) });
    assert.equal(ok.status, 200);
    assert.equal(items(ok.headers.get('ratelimit')).admin?.r, 0);
    assert.deepEqual(items(ok.headers.get('ratelimit-policy')).admin, { q: 3, w: 3600 });
    const limited = await svc.fetch('/api/health/performance', { headers: auth(ADMIN_TOKEN) });
    await expectProblem(limited, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 3590);
  });

  test('when no REDIS_URL is set, then the limiter says once at start-up that it runs in memory', async (t) => {
    const svc = await startTestService(t, small);
    const lines = svc.logs.lines.filter((l) => String(l.msg).startsWith('rate limiter runs in memory'));
    assert.equal(lines.length, 1);
    const ready = (await (await svc.fetch('/api/health/ready')).json()) as Record<string, unknown>;
    assert.equal(ready.status, 'ok');
    assert.deepEqual((ready.rateLimit as Record<string, { backend: string }>).api?.backend, 'memory');
  });
});
