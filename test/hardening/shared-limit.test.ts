// Two service processes sharing one Redis enforce one combined limit per client and tier.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startRedis } from '../support/redis-server.ts';
import { ADMIN_TOKEN, spawnService } from '../support/spawned-service.ts';

test('when two instances share one Redis, then a client gets the limit once across both, not once per instance', async (t) => {
  const redis = await startRedis(t);
  const env = {
    REDIS_URL: redis.url,
    RATE_LIMIT_GENERAL_POINTS: '50',
    RATE_LIMIT_API_POINTS: '12',
    RATE_LIMIT_ADMIN_POINTS: '4',
  };
  const [a, b] = await Promise.all([spawnService(t, env), spawnService(t, env)]);
  const statuses: number[] = [];
  const remaining: number[] = [];
  for (let i = 0; i < 16; i++) {
    const res = await fetch(`${(i % 2 === 0 ? a : b).url}/api/v1/items`);
    await res.arrayBuffer();
    statuses.push(res.status);
    remaining.push(Number(/"api";r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1]));
  }
  assert.deepEqual(statuses, [...Array(12).fill(200), ...Array(4).fill(429)]);
  // Alternating instances still see one counter: remaining falls by one per request, whoever served it.
  assert.deepEqual(remaining.slice(0, 12), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.equal(Number(await redis.command('GET', 'rl:api:127.0.0.1')), 16);
  assert.equal(Number(await redis.command('GET', 'rl:general:127.0.0.1')), 16);

  // The admin tier is shared as well.
  const admin: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${(i % 2 === 0 ? a : b).url}/api/admin/config`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    await res.arrayBuffer();
    admin.push(res.status);
  }
  assert.deepEqual(admin, [200, 200, 200, 200, 429, 429]);
});
