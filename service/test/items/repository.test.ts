// One ItemRepository contract, two backends: the same cases, spans and metrics on SQLite and on PostgreSQL.
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createTestDatabase } from '../../../test/support/postgres.ts';
import { postgresMigrations } from '../../src/items/migrations/postgres.ts';
import { sqliteMigrations } from '../../src/items/migrations/sqlite.ts';
import { createPostgresItemRepository } from '../../src/items/repository.postgres.ts';
import { createSqliteItemRepository } from '../../src/items/repository.sqlite.ts';
import type { ItemRepository } from '../../src/items/repository.ts';
import type { Item } from '../../src/items/schemas.ts';
import { createInstrument } from '../../src/observability/db-telemetry.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics/metrics.ts';
import { openDatabase, SQLITE_NAMESPACE, SQLITE_SYSTEM } from '../../src/storage/sqlite.ts';
import { openTestPostgres } from '../helpers.ts';

const exporter = new InMemorySpanExporter();
before(() => {
  trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
});
after(() => trace.disable());

interface Backend {
  readonly repo: ItemRepository;
  readonly metrics: Metrics;
  readonly system: string;
  readonly namespace: string;
}

const backends: Record<string, (t: import('node:test').TestContext) => Promise<Backend>> = {
  sqlite: async (t) => {
    const metrics = createMetrics({ version: 'test', revision: 'test' });
    const db = openDatabase(':memory:', sqliteMigrations);
    t.after(() => db.close());
    const instrument = createInstrument(metrics, { system: SQLITE_SYSTEM, namespace: SQLITE_NAMESPACE });
    return {
      repo: createSqliteItemRepository(db, instrument),
      metrics,
      system: 'sqlite',
      namespace: 'main',
    };
  },
  postgresql: async (t) => {
    const database = await createTestDatabase(t);
    const { pg, metrics } = openTestPostgres(t, database.url, {
      applicationName: 'repository-test',
      logLevel: 'warn',
    });
    await pg.start(postgresMigrations);
    return {
      repo: createPostgresItemRepository(pg),
      metrics,
      system: 'postgresql',
      namespace: database.name,
    };
  },
};

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const buildItem = (overrides: Partial<Item> = {}): Item => ({
  id: randomUUID(),
  name: 'widget',
  quantity: 3,
  createdAt: at(0),
  updatedAt: at(0),
  ...overrides,
});

for (const [name, open] of Object.entries(backends)) {
  describe(`item repository on ${name}`, () => {
    test('when an item is inserted, then it is found by id exactly as stored, and an unknown id is undefined', async (t) => {
      const { repo } = await open(t);
      const item = buildItem({ name: 'Grüße 👋 "quoted" \'single\'', quantity: Number.MAX_SAFE_INTEGER });
      await repo.insert(item);
      assert.deepEqual(await repo.findById(item.id), item);
      assert.equal(await repo.findById(randomUUID()), undefined);
    });

    test('when items are paged, then they come ordered by creation then id, and count is the total', async (t) => {
      const { repo } = await open(t);
      const sameTime = [buildItem({ createdAt: at(5) }), buildItem({ createdAt: at(5) })];
      const items = [buildItem({ createdAt: at(9) }), buildItem({ createdAt: at(1) }), ...sameTime];
      for (const item of items) await repo.insert(item);
      const expected = [...items].sort((a, b) =>
        a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1,
      );
      assert.deepEqual(await repo.page(10, 0), expected);
      assert.deepEqual(await repo.page(2, 1), expected.slice(1, 3));
      assert.deepEqual(await repo.page(5, 4), []);
      assert.equal(await repo.count(), 4);
    });

    test('when an item is updated or deleted, then the change holds, and an unknown id reports false', async (t) => {
      const { repo } = await open(t);
      const item = buildItem();
      await repo.insert(item);
      const next = { ...item, name: 'renamed', quantity: 0, updatedAt: at(60_000) };
      assert.equal(await repo.update(next), true);
      assert.deepEqual(await repo.findById(item.id), next);
      assert.equal(await repo.update(buildItem()), false);
      assert.equal(await repo.delete(item.id), true);
      assert.equal(await repo.delete(item.id), false);
      assert.equal(await repo.findById(item.id), undefined);
      assert.equal(await repo.count(), 0);
    });

    test('when queries run, then each is a client span with the database semantic conventions and no values inlined', async (t) => {
      const { repo, system, namespace } = await open(t);
      exporter.reset();
      const secretName = `name-${randomUUID()}`;
      const item = buildItem({ name: secretName, quantity: 424242 });
      await repo.insert(item);
      await repo.findById(item.id);
      await repo.update({ ...item, quantity: 1 });
      await repo.page(1, 0);
      await repo.delete(item.id);
      const spans = exporter.getFinishedSpans().filter((s) => s.attributes['db.system.name'] === system);
      assert.deepEqual(
        spans.map((s) => s.name),
        ['INSERT items', 'SELECT items', 'UPDATE items', 'SELECT items', 'DELETE items'],
      );
      for (const s of spans) {
        assert.equal(s.kind, 2, 'SpanKind.CLIENT');
        assert.equal(s.attributes['db.namespace'], namespace);
        assert.equal(s.attributes['db.collection.name'], 'items');
        assert.equal(s.attributes['db.query.summary'], s.name);
        assert.equal(s.attributes['db.operation.name'], s.name.split(' ')[0]);
        const text = String(s.attributes['db.query.text']);
        assert.match(text, /^(INSERT|SELECT|UPDATE|DELETE) /);
        assert.match(text, /\?|\$1/, 'placeholders');
        for (const value of [secretName, item.id, '424242'])
          assert.ok(!text.includes(value), `${value} inlined in ${text}`);
      }
    });

    test('when queries run, then db_client_operation_duration_seconds counts them with the same labels', async (t) => {
      const { repo, metrics, system } = await open(t);
      await repo.insert(buildItem());
      await repo.count();
      const { values } = await metrics.dbOperationDuration.get();
      const counts = values
        .filter((v) => v.metricName === 'db_client_operation_duration_seconds_count')
        .map((v) => ({ labels: v.labels, value: v.value }));
      const of = (op: string) =>
        counts.find(
          (c) =>
            c.labels.db_system_name === system &&
            c.labels.db_operation_name === op &&
            c.labels.db_collection_name === 'items' &&
            c.labels.error_type === '',
        )?.value;
      assert.equal(of('INSERT'), 1);
      assert.ok((of('SELECT') ?? 0) >= 1);
      assert.deepEqual(Object.keys(counts[0]?.labels ?? {}).sort(), [
        'db_collection_name',
        'db_operation_name',
        'db_system_name',
        'error_type',
      ]);
    });
  });
}
