// The items API on PostgreSQL over real HTTP: the same answers as on SQLite, and the password never shown.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createTestDatabase } from '../../../test/support/postgres.ts';
import { metricValue } from '../../../test/support/service-process.ts';
import { ADMIN_TOKEN, auth, createItem, jsonHeaders, startTestService } from '../helpers.ts';

const PASSWORD = 'pw-4f8d2c-never-shown';

describe('items API on PostgreSQL', () => {
  test('when items are created, changed, listed and deleted, then the API answers as on SQLite', async (t) => {
    const db = await createTestDatabase(t);
    const svc = await startTestService(t, { DATABASE_URL: db.url });
    const item = await createItem(svc, { name: 'on postgres', quantity: 2 });
    assert.deepEqual(await (await svc.fetch(`/api/v1/items/${item.id}`)).json(), item);
    const patched = await svc.fetch(`/api/v1/items/${item.id}`, {
      method: 'PATCH',
      headers: jsonHeaders(),
      body: JSON.stringify({ quantity: 5 }),
    });
    assert.equal(((await patched.json()) as { quantity: number }).quantity, 5);
    const page = (await (await svc.fetch('/api/v1/items')).json()) as { total: number; items: unknown[] };
    assert.equal(page.total, 1);
    assert.equal(page.items.length, 1);
    assert.equal(
      (await svc.fetch(`/api/v1/items/${item.id}`, { method: 'DELETE', headers: jsonHeaders() })).status,
      204,
    );
    assert.equal((await svc.fetch(`/api/v1/items/${item.id}`)).status, 404);
    const ready = (await (await svc.fetch('/api/health/ready')).json()) as {
      checks: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(ready.checks).sort(), ['postgresql', 'redis']);

    const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    assert.equal(metricValue(metrics, 'db_client_connection_max'), 10);
    assert.equal(metricValue(metrics, 'db_client_connection_pending_requests'), 0);
    const idle = metricValue(metrics, 'db_client_connection_count{state="idle"}') ?? -1;
    const used = metricValue(metrics, 'db_client_connection_count{state="used"}') ?? -1;
    assert.ok(idle >= 1 && used >= 0 && idle + used <= 10, `idle ${idle}, used ${used}`);
    assert.match(
      metrics,
      /db_client_operation_duration_seconds_count\{db_system_name="postgresql",db_operation_name="INSERT",db_collection_name="items",error_type=""\} 1/,
    );
  });

  test('when the service runs on SQLite, then it exposes no pool series', async (t) => {
    const svc = await startTestService(t);
    await createItem(svc);
    const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    assert.doesNotMatch(metrics, /^db_client_connection_(count|max|pending_requests)/m);
    assert.match(
      metrics,
      /db_client_operation_duration_seconds_count\{db_system_name="sqlite",db_operation_name="INSERT"/,
    );
  });

  test('when DATABASE_URL carries a password, then /api/admin/config shows the URL without it and no log line has it', async (t) => {
    const db = await createTestDatabase(t);
    const withPassword = db.url.replace('postgres@', `postgres:${PASSWORD}@`);
    const svc = await startTestService(t, { DATABASE_URL: withPassword });
    await createItem(svc);
    const config = await (await svc.fetch('/api/admin/config', { headers: auth(ADMIN_TOKEN) })).text();
    assert.ok(!config.includes(PASSWORD), config);
    assert.equal((JSON.parse(config) as { database: { url: string } }).database.url, db.url);

    // An unreachable database logs its failures: still without the password.
    const down = await startTestService(t, {
      DATABASE_URL: `postgresql://postgres:${PASSWORD}@127.0.0.1:1/${db.name}`,
      DATABASE_CONNECT_TIMEOUT_MS: '300',
    });
    assert.equal((await down.fetch('/api/v1/items')).status, 503);
    const logged = [...svc.logs.raw, ...down.logs.raw];
    assert.ok(down.logs.raw.some((l) => l.includes('database unreachable at start-up')));
    assert.deepEqual(
      logged.filter((l) => l.includes(PASSWORD)),
      [],
    );
  });
});
