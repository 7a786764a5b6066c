// Databases written by the release before named migrations (test/fixtures/upgrade, see its README)
// open in place: every row served unchanged over HTTP, no migration run twice, and a second start
// finds nothing to do. The previous release's own bookkeeping is left as it was.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, type TestContext, test } from 'node:test';
import type { Item } from '../service/src/items/schemas.ts';
import { createItem, startTestService, type TestService } from '../service/test/helpers.ts';
import { createTestDatabase, PG_HOST, PG_PORT } from './support/postgres.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'upgrade');
const NAMES = ['items/0001-create', 'items/0002-by-creation'];

const expected = (backend: string) =>
  JSON.parse(readFileSync(join(FIXTURES, `items.${backend}.json`), 'utf8')) as Item[];

/** Every row, one by one and page by page, exactly as the previous release served it. */
async function assertEveryRowServed(svc: TestService, items: Item[]): Promise<void> {
  assert.ok(items.length > 20, 'the fixture spans more than one default page');
  for (const item of items) {
    const res = await svc.fetch(`/api/v1/items/${item.id}`);
    assert.equal(res.status, 200, item.name);
    assert.deepEqual(await res.json(), item);
  }
  const listed: Item[] = [];
  for (let offset = 0; ; offset += 20) {
    const page = (await (await svc.fetch(`/api/v1/items?offset=${offset}`)).json()) as {
      items: Item[];
      total: number;
    };
    assert.equal(page.total, items.length);
    listed.push(...page.items);
    if (page.items.length < 20) break;
  }
  assert.deepEqual(listed, items, 'the list, in creation order');
}

const migrationLines = (svc: TestService) =>
  svc.logs.lines.filter((l) => l.msg === 'database migrations up to date');

describe('upgrade from the release before named migrations', () => {
  test('when the SQLite file it wrote is opened, then every row is served unchanged and nothing is migrated twice', async (t: TestContext) => {
    const dir = mkdtempSync(join(tmpdir(), 'upgrade-sqlite-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'items.db');
    copyFileSync(join(FIXTURES, 'items.sqlite'), path);
    const env = { DATABASE_PATH: path };

    const first = await startTestService(t, env);
    await assertEveryRowServed(first, expected('sqlite'));
    await first.stop();

    const db = new DatabaseSync(path);
    const applied = () =>
      (db.prepare('SELECT name FROM applied_migrations ORDER BY name').all() as { name: string }[]).map(
        (r) => r.name,
      );
    try {
      assert.deepEqual(applied(), NAMES, 'recorded by name, once each');
      // Left for the previous release, which still reads the file as migrated.
      assert.equal((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, 2);
    } finally {
      db.close();
    }

    const second = await startTestService(t, env);
    await assertEveryRowServed(second, expected('sqlite'));
    const added = await createItem(second, { name: 'after the upgrade', quantity: 1 });
    assert.equal((await second.fetch(`/api/v1/items/${added.id}`)).status, 200);
    await second.stop();
    const again = new DatabaseSync(path);
    t.after(() => again.close());
    assert.equal(
      (again.prepare('SELECT count(*) AS n FROM applied_migrations').get() as { n: number }).n,
      NAMES.length,
    );
  });

  test('when its PostgreSQL dump is restored, then every row is served unchanged and no migration runs', async (t) => {
    const db = await createTestDatabase(t);
    execFileSync('psql', [
      '--quiet',
      '--no-psqlrc',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      PG_HOST,
      '-p',
      String(PG_PORT),
      '-U',
      'postgres',
      '-d',
      db.name,
      '-f',
      join(FIXTURES, 'items.postgresql.sql'),
    ]);
    const before = await db.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version',
    );
    assert.deepEqual(
      before.map((r) => r.version),
      [1, 2],
      'the dump has numeric versions',
    );

    const first = await startTestService(t, { DATABASE_URL: db.url });
    await assertEveryRowServed(first, expected('postgresql'));
    assert.deepEqual(
      migrationLines(first).map((l) => l.applied),
      [[]],
      'no migration ran: both were applied by the previous release',
    );
    await first.stop();
    assert.deepEqual(
      (await db.query<{ name: string }>('SELECT name FROM applied_migrations ORDER BY name')).map(
        (r) => r.name,
      ),
      NAMES,
    );
    assert.deepEqual(
      await db.query('SELECT version, name FROM schema_migrations ORDER BY version'),
      before,
      'left as it was for the previous release',
    );

    const second = await startTestService(t, { DATABASE_URL: db.url });
    await assertEveryRowServed(second, expected('postgresql'));
    assert.deepEqual(
      migrationLines(second).map((l) => l.applied),
      [[]],
    );
    await createItem(second, { name: 'after the upgrade', quantity: 1 });
  });
});
