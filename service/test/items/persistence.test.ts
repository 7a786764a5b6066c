// Items persisted in a SQLite file survive a restart of the service, which finds nothing left to migrate.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { COMPONENTS } from '../../src/components.ts';
import { createItem, startTestService } from '../helpers.ts';

test('when the service restarts on the same database file, then stored items are still there', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'items-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATABASE_PATH: join(dir, 'nested', 'items.db') };

  const first = await startTestService(t, env);
  const item = await createItem(first, { name: 'persisted', quantity: 42 });
  await first.stop();

  const second = await startTestService(t, env);
  const res = await second.fetch(`/api/v1/items/${item.id}`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), item);
  await second.stop();

  const db = new DatabaseSync(env.DATABASE_PATH);
  t.after(() => db.close());
  assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  // Every migration of every component recorded by name, once.
  const applied = db.prepare('SELECT name FROM applied_migrations ORDER BY name').all() as { name: string }[];
  assert.deepEqual(
    applied.map((r) => r.name),
    COMPONENTS.flatMap((c) => c.migrations.sqlite.map((m) => m.name)).sort(),
  );
});
