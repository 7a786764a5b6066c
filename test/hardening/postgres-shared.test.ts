// Replicas on one PostgreSQL database: what one writes the others serve, concurrent writes all land,
// and replicas that start together migrate the schema exactly once.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestDatabase } from '../support/postgres.ts';
import { API_TOKEN, type ServiceProcess, startServiceProcess } from '../support/service-process.ts';

// Generous limits: this test is about data, not rate limiting.
const env = (url: string) => ({
  DATABASE_URL: url,
  RATE_LIMIT_GENERAL_POINTS: '100000',
  RATE_LIMIT_API_POINTS: '100000',
});
const writeHeaders = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };

async function create(svc: ServiceProcess, name: string, quantity: number) {
  const res = await fetch(`${svc.url}/api/v1/items`, {
    method: 'POST',
    headers: writeHeaders,
    body: JSON.stringify({ name, quantity }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { id: string; name: string; quantity: number };
}

describe('replicas sharing one PostgreSQL database', () => {
  test('when one replica writes, then the other reads it, and concurrent writes through both all land with an exact count', async (t) => {
    const db = await createTestDatabase(t);
    const [a, b] = await Promise.all([
      startServiceProcess(t, env(db.url)),
      startServiceProcess(t, env(db.url)),
    ]);

    const item = await create(a, 'written on a', 7);
    const read = await fetch(`${b.url}/api/v1/items/${item.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(await read.json(), item);

    const patched = await fetch(`${b.url}/api/v1/items/${item.id}`, {
      method: 'PATCH',
      headers: writeHeaders,
      body: JSON.stringify({ quantity: 8 }),
    });
    assert.equal(patched.status, 200);
    assert.equal(
      ((await (await fetch(`${a.url}/api/v1/items/${item.id}`)).json()) as { quantity: number }).quantity,
      8,
    );

    const perReplica = 60;
    const created = await Promise.all(
      [a, b].flatMap((svc, r) =>
        Array.from({ length: perReplica }, (_, i) => create(svc, `concurrent ${r}-${i}`, i)),
      ),
    );
    const ids = new Set(created.map((c) => c.id));
    assert.equal(ids.size, 2 * perReplica);

    const expected = 2 * perReplica + 1;
    for (const svc of [a, b]) {
      const page = (await (await fetch(`${svc.url}/api/v1/items?limit=1`)).json()) as { total: number };
      assert.equal(page.total, expected, 'total seen by each replica');
    }
    const [row] = await db.query<{ n: string }>('SELECT count(*) AS n FROM items');
    assert.equal(Number(row?.n), expected);
    const names = await db.query<{ name: string }>("SELECT name FROM items WHERE name LIKE 'concurrent %'");
    assert.deepEqual(
      names.map((n) => n.name).sort(),
      created.map((c) => c.name).sort(),
      'every write stored exactly once',
    );

    const deleted = await fetch(`${a.url}/api/v1/items/${item.id}`, {
      method: 'DELETE',
      headers: writeHeaders,
    });
    assert.equal(deleted.status, 204);
    assert.equal((await fetch(`${b.url}/api/v1/items/${item.id}`)).status, 404);
  });

  test('when three replicas start at once on an empty database, then the migrations run exactly once and all serve', async (t) => {
    const db = await createTestDatabase(t);
    // The test holds the migration lock first, so the three really arrive together: each must be
    // seen waiting on it before it is released, and then they race.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    // Hooks run in order: the database is dropped (its sessions terminated) before a later one could end it.
    holder.on('error', () => {});
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', ['schema_migrations']);
    // Start-up waits on the lock the test holds, so "service listening" may come late on a busy machine.
    const starting = [1, 2, 3].map(() => startServiceProcess(t, env(db.url), { listenTimeoutMs: 180_000 }));
    const waiting = async () =>
      Number(
        (
          await holder.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
             WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = $1`,
            [db.name],
          )
        ).rows[0]?.n,
      );
    const until = Date.now() + 150_000;
    while ((await waiting()) < 3 && Date.now() < until) await sleep(100);
    assert.equal(await waiting(), 3, 'three replicas waiting on the migration lock');
    await holder.query('SELECT pg_advisory_unlock(hashtext($1))', ['schema_migrations']);
    await holder.end();
    const replicas = await Promise.all(starting);

    const recorded = await db.query<{ name: string }>('SELECT name FROM applied_migrations ORDER BY name');
    assert.deepEqual(
      recorded.map((v) => v.name),
      ['items/0001-create', 'items/0002-by-creation'],
      'one row per migration',
    );
    const done = await Promise.all(
      replicas.map((r) => r.waitForLog((l) => l.msg === 'database migrations up to date')),
    );
    // Exactly one replica applied the versions; the others waited on the lock and found nothing to do.
    const applied = done.map((l) => l.applied as string[]);
    assert.deepEqual(
      applied.map((a) => a.length).sort(),
      [0, 0, 2],
      `applied per replica: ${JSON.stringify(applied)}`,
    );
    for (const r of replicas) {
      const errors = r.logs.filter((l) => l.level === 'error' || l.level === 'fatal' || l.level === 'warn');
      assert.deepEqual(errors, [], 'no warning or error while starting');
      assert.deepEqual(
        r.stderr.filter((l) => l.trim() !== ''),
        [],
      );
      assert.equal((await fetch(`${r.url}/api/health/ready`)).status, 200);
    }
    const item = await create(replicas[0] as ServiceProcess, 'after a concurrent start', 1);
    for (const r of replicas) assert.equal((await fetch(`${r.url}/api/v1/items/${item.id}`)).status, 200);
  });
});
