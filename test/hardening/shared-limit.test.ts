// Two service processes sharing one Redis enforce one combined limit per client and tier.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startRedis } from '../support/redis-server.ts';
import { ADMIN_TOKEN, startServiceProcess } from '../support/service-process.ts';

test('when two instances share one Redis, then a client gets the limit once across both, not once per instance', async (t) => {
  const redis = await startRedis(t);
  const env = {
    REDIS_URL: redis.url,
    RATE_LIMIT_GENERAL_POINTS: '50',
    RATE_LIMIT_API_POINTS: '12',
    RATE_LIMIT_ADMIN_POINTS: '4',
  };
  const [a, b] = await Promise.all([startServiceProcess(t, env), startServiceProcess(t, env)]);
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

test('when an /api/v1 request passes the general and api tiers, then both are counted by one Redis command, and a request the general tier rejects is not counted by the api tier', async (t) => {
  const redis = await startRedis(t);
  const svc = await startServiceProcess(t, {
    REDIS_URL: redis.url,
    RATE_LIMIT_GENERAL_POINTS: '6',
    RATE_LIMIT_API_POINTS: '100',
  });
  const get = async () => {
    const res = await fetch(`${svc.url}/api/v1/items`);
    await res.arrayBuffer();
    return res;
  };
  // The first call loads the script (EVALSHA answered NOSCRIPT, then EVAL); count from the second on.
  await get();
  await redis.command('CONFIG', 'RESETSTAT');
  const statuses: number[] = [];
  let lastAllowed: Response | undefined;
  for (let i = 0; i < 8; i++) {
    const res = await get();
    statuses.push(res.status);
    if (res.status === 200) lastAllowed = res;
  }
  const stats = String(await redis.command('INFO', 'commandstats'));
  const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  assert.equal(calls('evalsha') + calls('eval'), 8, `one script call per request:\n${stats}`);
  assert.deepEqual(statuses, [...Array(5).fill(200), ...Array(3).fill(429)]);
  // Both tiers answered in one call: each has its own item in the RateLimit header.
  assert.match(lastAllowed?.headers.get('ratelimit') ?? '', /^"general";r=0;t=\d+, "api";r=94;t=\d+$/);
  assert.equal(Number(await redis.command('GET', 'rl:general:127.0.0.1')), 9);
  assert.equal(
    Number(await redis.command('GET', 'rl:api:127.0.0.1')),
    6,
    'rejected by general: not counted in api',
  );
});
