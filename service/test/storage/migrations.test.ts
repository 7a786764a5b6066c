// storage/migrations.ts: which names are refused before anything runs, and what is left to apply.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  collectMigrations,
  MigrationRefused,
  pendingMigrations,
  previouslyApplied,
} from '../../src/storage/migrations.ts';

const m = (name: string) => ({ name, sql: 'SELECT 1' });
const refused = (reason: string, migration: string) => (err: unknown) =>
  err instanceof MigrationRefused && err.reason === reason && err.migration === migration;

test('when components bring migrations, then they are listed in order, and a duplicate or foreign name is refused', () => {
  const items = { component: 'items', migrations: [m('items/0001-create'), m('items/0002-index')] };
  const orders = { component: 'orders', migrations: [m('orders/0001-create')] };
  assert.deepEqual(
    collectMigrations([items, orders]).map((x) => x.name),
    ['items/0001-create', 'items/0002-index', 'orders/0001-create'],
  );
  assert.throws(
    () => collectMigrations([items, { component: 'orders', migrations: [m('orders/a'), m('orders/a')] }]),
    refused('duplicate name', 'orders/a'),
  );
  // A folder copied from items/ without renaming its migrations.
  assert.throws(
    () => collectMigrations([items, { component: 'orders', migrations: [m('items/0001-create')] }]),
    refused('name outside its component', 'items/0001-create'),
  );
  assert.throws(
    () => collectMigrations([{ component: 'orders', migrations: [m('orders/')] }]),
    refused('name outside its component', 'orders/'),
  );
});

test('when a database has applied some names, then the rest is pending, and a name the code lacks is refused', () => {
  const all = [m('items/0001-create'), m('orders/0001-create'), m('items/0002-index')];
  assert.deepEqual(
    pendingMigrations(all, ['items/0001-create']).map((x) => x.name),
    ['orders/0001-create', 'items/0002-index'],
  );
  assert.deepEqual(
    pendingMigrations(
      all,
      all.map((x) => x.name),
    ),
    [],
  );
  assert.throws(
    () => pendingMigrations(all, ['items/0001-create', 'gone/0001-create']),
    refused('applied migration missing from the code', 'gone/0001-create'),
  );
});

test('when a database of the previous release is read, then its versions become the items names, and an unknown one is refused', () => {
  assert.deepEqual(previouslyApplied([1, 2]), ['items/0001-create', 'items/0002-by-creation']);
  assert.deepEqual(previouslyApplied([]), []);
  assert.throws(
    () => previouslyApplied([1, 3]),
    refused('applied migration missing from the code', 'version 3'),
  );
});
