// The rate limiter's one Redis round trip per request makes no client span: its outcome is on the
// server span (rate_limit.<tier> and rate_limit.backend), for every tier it counted.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startRedis } from '../support/redis-server.ts';
import { startTracedService } from '../support/traced-service.ts';

const SERVER = 2;

test('when /api/v1 requests are counted on Redis, then the server span carries each tier’s decision and there is no Redis span', async (t) => {
  const redis = await startRedis(t);
  const { svc, otlp } = await startTracedService(t, {
    env: { REDIS_URL: redis.url, RATE_LIMIT_API_POINTS: '1' },
  });
  const statuses = [];
  for (const id of ['rl-1', 'rl-2'])
    statuses.push((await fetch(`${svc.url}/api/v1/items`, { headers: { 'x-request-id': id } })).status);
  assert.deepEqual(statuses, [200, 429]);

  const span = (id: string) =>
    otlp.waitForSpan((s) => s.kind === SERVER && s.attributes['http.request.id'] === id);
  const allowed = await span('rl-1');
  assert.equal(allowed.attributes['rate_limit.backend'], 'redis');
  assert.equal(allowed.attributes['rate_limit.general'], 'allowed');
  assert.equal(allowed.attributes['rate_limit.api'], 'allowed');
  const rejected = await span('rl-2');
  assert.equal(rejected.attributes['rate_limit.backend'], 'redis');
  assert.equal(rejected.attributes['rate_limit.general'], 'allowed');
  assert.equal(rejected.attributes['rate_limit.api'], 'rejected');
  assert.equal(await svc.stop(), 0);

  // The counting really happened in Redis, and left no span of its own.
  assert.equal(Number(await redis.command('GET', 'rl:api:127.0.0.1')), 2);
  const traces = new Set([allowed.traceId, rejected.traceId]);
  const others = otlp.spans.filter((s) => traces.has(s.traceId) && s.kind !== SERVER);
  assert.deepEqual(
    others.map((s) => s.attributes['db.system.name']).filter((d) => d !== 'sqlite'),
    [],
    'only SQLite client spans under the server spans',
  );
});

test('when the limiter runs in memory, then the server span says so', async (t) => {
  const { svc, otlp } = await startTracedService(t);
  assert.equal(
    (await fetch(`${svc.url}/api/v1/items`, { headers: { 'x-request-id': 'rl-mem' } })).status,
    200,
  );
  const span = await otlp.waitForSpan(
    (s) => s.kind === SERVER && s.attributes['http.request.id'] === 'rl-mem',
  );
  assert.equal(span.attributes['rate_limit.backend'], 'memory');
  assert.equal(span.attributes['rate_limit.api'], 'allowed');
  assert.equal(await svc.stop(), 0);
});
