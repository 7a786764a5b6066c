// PostgreSQL unreachable or silent, at start and mid-traffic, seen through the test's own TCP proxy
// (never the machine's server): the process lives, liveness 200, readiness 503, items 503
// problem+json with Retry-After within the timeouts, and it recovers without a restart.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, startTcpProxy } from '../support/postgres.ts';
import {
  API_TOKEN,
  metricValue,
  type ServiceProcess,
  startServiceProcess,
} from '../support/service-process.ts';

const CONNECT_TIMEOUT_MS = 800;
const STATEMENT_TIMEOUT_MS = 800;
// Nothing hangs: an item request answers within the pool wait plus the statement budget, with slack
// for a slow shared machine. A bound on hanging, not a performance target.
const ANSWER_WITHIN_MS = CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + 8_000;

const env = (url: string) => ({
  DATABASE_URL: url,
  DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
  DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  RATE_LIMIT_GENERAL_POINTS: '100000',
  RATE_LIMIT_API_POINTS: '100000',
});

const get = (svc: ServiceProcess, path: string) =>
  fetch(`${svc.url}${path}`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
const post = (svc: ServiceProcess) =>
  fetch(`${svc.url}/api/v1/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'during an outage', quantity: 1 }),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
  });

async function expectUnavailable(res: Response, what: string): Promise<void> {
  assert.equal(res.status, 503, `${what}: status`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `${what}: type`);
  assert.equal(res.headers.get('retry-after'), '5', `${what}: Retry-After`);
  const body = (await res.json()) as { type: string; status: number };
  assert.equal(body.type, '/problems/dependency-unavailable', what);
  assert.equal(body.status, 503);
}

async function expectDown(svc: ServiceProcess): Promise<void> {
  assert.equal((await get(svc, '/api/health')).status, 200, 'liveness does not depend on the database');
  const ready = await get(svc, '/api/health/ready');
  assert.equal(ready.status, 503, 'readiness');
  const body = (await ready.json()) as { checks: Record<string, { status: string }> };
  assert.equal(body.checks.postgresql?.status, 'down');
  await expectUnavailable(await get(svc, '/api/v1/items'), 'list');
  await expectUnavailable(await get(svc, `/api/v1/items/${crypto.randomUUID()}`), 'get');
  await expectUnavailable(await post(svc), 'create');
}

/** Polls until readiness is 200 and an item can be written and read; no restart in between. */
async function expectRecovered(svc: ServiceProcess, withinMs = 40_000): Promise<void> {
  const until = Date.now() + withinMs;
  while ((await get(svc, '/api/health/ready')).status !== 200) {
    assert.ok(Date.now() < until, 'readiness did not recover');
    await sleep(200);
  }
  const created = await post(svc);
  assert.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  assert.equal((await get(svc, `/api/v1/items/${id}`)).status, 200);
  assert.equal(svc.child.exitCode, null, 'the same process throughout');
  const unexpected = svc.logs.filter((l) => l.msg === 'unexpected error' || l.level === 'fatal');
  assert.deepEqual(unexpected, [], 'no outage turned into a 500 or a crash');
}

describe('PostgreSQL faults', () => {
  test('when PostgreSQL is unreachable at start, then the service starts, answers 503 for items and readiness, and migrates and serves once it is reachable', async (t) => {
    const db = await createTestDatabase(t);
    const proxy = await startTcpProxy(t);
    await proxy.close();
    const svc = await startServiceProcess(t, env(db.urlVia(proxy.port)));
    await svc.waitForLog(
      (l) => l.msg === 'database unreachable at start-up, migrations retried in the background',
    );
    await expectDown(svc);

    await proxy.open();
    await expectRecovered(svc);
    const applied = await db.query<{ name: string }>('SELECT name FROM applied_migrations ORDER BY name');
    assert.deepEqual(
      applied.map((v) => v.name),
      ['items/0001-create', 'items/0002-by-creation'],
    );
  });

  test('when PostgreSQL becomes unreachable mid-traffic, then items and readiness answer 503 while liveness stays 200, and it recovers by itself', async (t) => {
    const db = await createTestDatabase(t);
    const proxy = await startTcpProxy(t);
    const svc = await startServiceProcess(t, env(db.urlVia(proxy.port)));
    await expectRecovered(svc);

    // Traffic in flight while the connection is cut: each request gets an answer, never a 500.
    const inFlight = Array.from({ length: 20 }, () => post(svc));
    await proxy.close();
    const cutAt = performance.now();
    const statuses = (await Promise.all(inFlight)).map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 201 || s === 503),
      `statuses during the cut: ${statuses.join(',')}`,
    );
    t.diagnostic(`in-flight requests answered within ${Math.round(performance.now() - cutAt)} ms of the cut`);
    await expectDown(svc);
    await svc.waitForLog((l) => l.msg === 'database unavailable');

    await proxy.open();
    await expectRecovered(svc);
    await svc.waitForLog((l) => l.msg === 'database available again');
  });

  test('when PostgreSQL stops answering (a silent network), then items answer 503 with Retry-After within the timeouts, and it recovers', async (t) => {
    const db = await createTestDatabase(t);
    const proxy = await startTcpProxy(t);
    const svc = await startServiceProcess(t, env(db.urlVia(proxy.port)));
    await expectRecovered(svc);

    proxy.stall();
    const began = performance.now();
    await expectUnavailable(await get(svc, '/api/v1/items'), 'first request into the stall');
    t.diagnostic(
      `first item request into the stall answered 503 after ${Math.round(performance.now() - began)} ms`,
    );
    await expectDown(svc);
    const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    assert.ok(
      (metricValue(metrics, 'db_client_connection_timeouts_total') ?? 0) > 0 ||
        /db_client_operation_duration_seconds_count\{db_system_name="postgresql",[^}]*error_type="Error"\}/.test(
          metrics,
        ),
      'the stall shows as connection timeouts or failed queries',
    );

    proxy.resume();
    await expectRecovered(svc);
  });
});
