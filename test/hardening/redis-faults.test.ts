// Redis faults under constant traffic, against the real process and a real redis-server:
// absent at start-up, killed, paused (CLIENT PAUSE), frozen (SIGSTOP), and back again.
//
// Budget (docs/deployment-security-checklist.md): the limiter waits at most
// RATE_LIMIT_REDIS_TIMEOUT_MS (150 ms) for Redis once per fault; end to end every request must
// finish within REQUEST_BUDGET_MS on this loaded 2-core box. Measured numbers are logged.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { type Load, type Outcome, sleep, startLoad, summarize } from '../support/load.ts';
import { freePort } from '../support/process.ts';
import { startRedis } from '../support/redis-server.ts';
import { ADMIN_TOKEN, metricValue, type ServiceProcess, spawnService } from '../support/spawned-service.ts';

const REDIS_TIMEOUT_MS = 150;
// End to end: the 150 ms Redis budget plus headroom for a 2-core box shared with other test runs
// (requests with no Redis fault at all reached 250 ms there). The Redis wait itself is checked
// server-side below against the histogram.
const REQUEST_BUDGET_MS = 750;
const HIGH_LIMITS = {
  RATE_LIMIT_GENERAL_POINTS: '1000000',
  RATE_LIMIT_API_POINTS: '1000000',
  RATE_LIMIT_ADMIN_POINTS: '1000000',
  RATE_LIMIT_REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS),
};
const CLIENT = '127.0.0.1';

async function metrics(svc: ServiceProcess): Promise<string> {
  return (await fetch(svc.metricsUrl)).text();
}
const allowed = (text: string, tier: string, backend: string) =>
  metricValue(text, `rate_limit_decisions_total{tier="${tier}",decision="allowed",backend="${backend}"}`) ??
  0;

/** Every limiter call to Redis, failed or not, ended within the 0.5 s bucket (timeout 150 ms + lag). */
function assertRedisWaitBounded(text: string): void {
  for (const tier of ['general', 'api'])
    for (const e of ['', 'timeout', 'error']) {
      const l = `db_system_name="redis",db_operation_name="EVALSHA",db_collection_name="rl:${tier}",error_type="${e}"`;
      const total = metricValue(text, `db_client_operation_duration_seconds_count{${l}}`) ?? 0;
      const within = metricValue(text, `db_client_operation_duration_seconds_bucket{le="0.5",${l}}`) ?? 0;
      assert.equal(within, total, `rl:${tier} ${e || 'ok'}: every Redis wait <= 0.5 s`);
    }
}

function assertWithinBudget(what: string, outcomes: readonly Outcome[]): void {
  const s = summarize(outcomes);
  console.log(`${what}: ${JSON.stringify(s)}`);
  assert.ok(s.count > 20, `${what}: enough traffic (${s.count})`);
  const bad = outcomes.filter((o) => o.status !== 200);
  assert.deepEqual(bad.slice(0, 5), [], `${what}: every request 200 (no 5xx, no false 429)`);
  assert.ok(
    s.max < REQUEST_BUDGET_MS,
    `${what}: slowest request ${s.max.toFixed(1)} ms < ${REQUEST_BUDGET_MS} ms`,
  );
}

const switched = (tier: string, to: string) => (l: Record<string, unknown>) =>
  l.msg === 'rate limiter backend switched' && l.tier === tier && l.to === to;

async function readiness(svc: ServiceProcess) {
  const res = await fetch(`${svc.url}/api/health/ready`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; rateLimit: Record<string, { backend: string }> },
  };
}

/** Readiness returns to ok once the tiers are back on Redis (a loaded box may trip it again briefly). */
async function readyAgain(svc: ServiceProcess): Promise<void> {
  const until = Date.now() + 10_000;
  let last = '';
  while (Date.now() < until) {
    last = (await readiness(svc)).body.status;
    if (last === 'ok') return;
    await sleep(100);
  }
  assert.fail(`readiness still ${last}`);
}

const failures = (text: string, tier: string) =>
  ['timeout', 'error']
    .map(
      (e) =>
        metricValue(
          text,
          `db_client_operation_duration_seconds_count{db_system_name="redis",db_operation_name="EVALSHA",db_collection_name="rl:${tier}",error_type="${e}"}`,
        ) ?? 0,
    )
    .reduce((a, b) => a + b, 0);

/**
 * No request counted twice: Redis holds at most the requests decided on Redis (a request counted
 * in memory never also lands in Redis), and at least those minus the ones whose command failed
 * with an unknown outcome (allowed uncounted rather than risk a second count).
 * `since` is a metrics snapshot taken when Redis's counters were last empty.
 */
async function assertCountedOnce(
  redis: { command: (...a: string[]) => Promise<unknown> },
  end: string,
  since = '',
) {
  for (const tier of ['general', 'api']) {
    const counted = Number((await redis.command('GET', `rl:${tier}:${CLIENT}`)) ?? 0);
    const decided = allowed(end, tier, 'redis') - allowed(since, tier, 'redis');
    const uncertain = failures(end, tier) - failures(since, tier);
    assertRedisWaitBounded(end);
    console.log(`${tier}: redis counter ${counted}, decided on redis ${decided}, uncertain ${uncertain}`);
    assert.ok(counted <= decided, `${tier}: Redis counted ${counted} > ${decided} decided on Redis`);
    assert.ok(
      counted >= decided - uncertain,
      `${tier}: Redis counted ${counted} < ${decided} - ${uncertain}`,
    );
    assert.ok(decided > 0, `${tier}: traffic reached Redis after recovery`);
  }
}

async function during<T>(load: Load, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await load.stop();
    throw err;
  }
}

describe('rate limiting under Redis faults', { concurrency: false }, () => {
  test('when Redis is absent at start-up, then tiers run on memory (admin 503) and move to Redis when it appears', async (t) => {
    const port = await freePort();
    const svc = await spawnService(t, { ...HIGH_LIMITS, REDIS_URL: `redis://127.0.0.1:${port}` });
    const load = startLoad(`${svc.url}/api/v1/items`);
    await sleep(1_000);
    const ready = await readiness(svc);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'degraded');
    assert.equal(ready.body.rateLimit.api?.backend, 'memory');
    assert.equal(ready.body.rateLimit.admin?.backend, 'unavailable');
    const m = await metrics(svc);
    assert.equal(metricValue(m, 'rate_limit_backend{tier="general",backend="memory"}'), 1);
    assert.equal(metricValue(m, 'rate_limit_degraded{tier="api"}'), 1);
    const admin = await fetch(`${svc.url}/api/admin/config`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(admin.status, 503);
    assert.match(admin.headers.get('content-type') ?? '', /problem\+json/);
    assert.equal(((await admin.json()) as { type: string }).type, '/problems/rate-limiter-unavailable');

    const redis = await startRedis(t, port);
    await during(load, () => svc.waitForLog(switched('api', 'redis'), 10_000));
    await sleep(500);
    await load.stop();
    assertWithinBudget('absent at start', load.outcomes);
    await readyAgain(svc);
    await assertCountedOnce(redis, await metrics(svc));
  });

  test('when Redis is killed during traffic and restarted, then no request fails or waits, and recovery counts once', async (t) => {
    const redis = await startRedis(t);
    const svc = await spawnService(t, { ...HIGH_LIMITS, REDIS_URL: redis.url });
    const load = startLoad(`${svc.url}/api/v1/items`);
    await sleep(1_000);
    await redis.kill();
    await during(load, () => svc.waitForLog(switched('general', 'memory'), 5_000));
    await sleep(1_000);
    const ready = await readiness(svc);
    assert.equal(ready.body.status, 'degraded');
    // Redis is gone, its counts with it: what it counts from here on starts at zero.
    const beforeRestart = await metrics(svc);
    await redis.restart();
    await during(load, () => svc.waitForLog(switched('general', 'redis'), 10_000));
    await sleep(1_000);
    await load.stop();
    assertWithinBudget('killed and restarted', load.outcomes);
    await readyAgain(svc);
    await assertCountedOnce(redis, await metrics(svc), beforeRestart);
    // One line per switch: for each tier the lines alternate, away from Redis and back.
    const atStart = svc.logs.find((l) => l.msg === 'rate limiter backend' && l.tier === 'api');
    assert.equal(atStart?.backend, 'redis', 'a start with Redis up begins on Redis, no switch logged');
    const toMemory = svc.logs.filter(switched('api', 'memory')).length;
    assert.ok(toMemory >= 1);
    assert.equal(svc.logs.filter(switched('api', 'redis')).length, toMemory);
  });

  test('when Redis is paused (CLIENT PAUSE) and resumes, then requests stay within budget and nothing is counted twice', async (t) => {
    const redis = await startRedis(t);
    const svc = await spawnService(t, { ...HIGH_LIMITS, REDIS_URL: redis.url });
    const load = startLoad(`${svc.url}/api/v1/items`);
    await sleep(1_000);
    await redis.command('CLIENT', 'PAUSE', 3_000, 'WRITE');
    await during(load, () => svc.waitForLog(switched('general', 'memory'), 5_000));
    const ready = await readiness(svc);
    assert.equal(ready.body.status, 'degraded');
    assert.equal(ready.body.rateLimit.admin?.backend, 'unavailable');
    await during(load, () => svc.waitForLog(switched('general', 'redis'), 10_000));
    await sleep(1_000);
    await load.stop();
    assertWithinBudget('paused', load.outcomes);
    const end = await metrics(svc);
    await assertCountedOnce(redis, end);
    const timeouts = ['general', 'api']
      .map(
        (tier) =>
          metricValue(
            end,
            `db_client_operation_duration_seconds_count{db_system_name="redis",db_operation_name="EVALSHA",db_collection_name="rl:${tier}",error_type="timeout"}`,
          ) ?? 0,
      )
      .reduce((a, b) => a + b, 0);
    assert.ok(timeouts >= 1, 'the pause was noticed by a command timeout');
  });

  test('when Redis is frozen (SIGSTOP) and thawed, then requests stay within budget and the tiers come back', async (t) => {
    const redis = await startRedis(t);
    const svc = await spawnService(t, { ...HIGH_LIMITS, REDIS_URL: redis.url });
    const load = startLoad(`${svc.url}/api/v1/items`);
    await sleep(1_000);
    redis.freeze();
    await during(load, () => svc.waitForLog(switched('general', 'memory'), 5_000));
    await sleep(2_000);
    redis.thaw();
    await during(load, () => svc.waitForLog(switched('general', 'redis'), 10_000));
    await sleep(1_000);
    await load.stop();
    assertWithinBudget('frozen', load.outcomes);
    await assertCountedOnce(redis, await metrics(svc));
  });
});
