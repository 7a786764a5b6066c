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
import { ADMIN_TOKEN, metricValue, type ServiceProcess, spawnService } from '../support/service-process.ts';

const REDIS_TIMEOUT_MS = 150;
const REQUEST_BUDGET_MS = 500;
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
    assert.equal((await readiness(svc)).body.status, 'ok');
    // Everything Redis counted was counted once: its counter equals the decisions made on Redis.
    const end = await metrics(svc);
    assert.equal(
      Number(await redis.command('GET', `rl:general:${CLIENT}`)),
      allowed(end, 'general', 'redis'),
    );
    assert.equal(Number(await redis.command('GET', `rl:api:${CLIENT}`)), allowed(end, 'api', 'redis'));
    assert.ok(allowed(end, 'general', 'redis') > 0);
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
    const end = await metrics(svc);
    assert.equal(
      Number(await redis.command('GET', `rl:general:${CLIENT}`)),
      allowed(end, 'general', 'redis') - allowed(beforeRestart, 'general', 'redis'),
    );
    assert.equal((await readiness(svc)).body.status, 'ok');
    assert.equal(svc.logs.filter(switched('api', 'memory')).length, 1, 'one log line per switch');
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
    // Commands that timed out were never run late: Redis holds exactly what it answered.
    assert.equal(
      Number(await redis.command('GET', `rl:general:${CLIENT}`)),
      allowed(end, 'general', 'redis'),
    );
    assert.equal(Number(await redis.command('GET', `rl:api:${CLIENT}`)), allowed(end, 'api', 'redis'));
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
    const end = await metrics(svc);
    const counted = Number(await redis.command('GET', `rl:general:${CLIENT}`));
    console.log(
      `frozen: redis counter ${counted}, redis-allowed decisions ${allowed(end, 'general', 'redis')}`,
    );
    assert.equal(counted, allowed(end, 'general', 'redis'));
  });
});
