// Items in the embedded SQLite file: prepared statements only, each query traced and timed.
//
// node:sqlite is synchronous; the methods are async only to share the ItemRepository contract
// with PostgreSQL. Each one still runs its statement at once, on the caller's turn.
import type { DatabaseSync } from 'node:sqlite';
import type { Instrument } from '../component/define-component.ts';
import { type ItemRepository, itemQuery as q } from './repository.ts';
import type { Item } from './schemas.ts';

interface Row {
  id: string;
  name: string;
  quantity: number;
  created_at: string;
  updated_at: string;
}

const toItem = (r: Row): Item => ({
  id: r.id,
  name: r.name,
  quantity: r.quantity,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const SQL = {
  insert: 'INSERT INTO items (id, name, quantity, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
  byId: 'SELECT id, name, quantity, created_at, updated_at FROM items WHERE id = ?',
  page: 'SELECT id, name, quantity, created_at, updated_at FROM items ORDER BY created_at, id LIMIT ? OFFSET ?',
  count: 'SELECT count(*) AS n FROM items',
  update: 'UPDATE items SET name = ?, quantity = ?, updated_at = ? WHERE id = ?',
  delete: 'DELETE FROM items WHERE id = ?',
} as const;

export function createSqliteItemRepository(db: DatabaseSync, instrument: Instrument): ItemRepository {
  const stmt = {
    insert: db.prepare(SQL.insert),
    byId: db.prepare(SQL.byId),
    page: db.prepare(SQL.page),
    count: db.prepare(SQL.count),
    update: db.prepare(SQL.update),
    delete: db.prepare(SQL.delete),
  };

  return {
    async insert(item) {
      instrument(q('INSERT', SQL.insert), () =>
        stmt.insert.run(item.id, item.name, item.quantity, item.createdAt, item.updatedAt),
      );
    },
    async findById(id) {
      const row = instrument(q('SELECT', SQL.byId), () => stmt.byId.get(id)) as Row | undefined;
      return row ? toItem(row) : undefined;
    },
    async page(limit, offset) {
      return (instrument(q('SELECT', SQL.page), () => stmt.page.all(limit, offset)) as unknown as Row[]).map(
        toItem,
      );
    },
    async count() {
      return (instrument(q('SELECT', SQL.count), () => stmt.count.get()) as { n: number }).n;
    },
    async update(item) {
      const r = instrument(q('UPDATE', SQL.update), () =>
        stmt.update.run(item.name, item.quantity, item.updatedAt, item.id),
      );
      return r.changes > 0;
    },
    async delete(id) {
      return instrument(q('DELETE', SQL.delete), () => stmt.delete.run(id)).changes > 0;
    },
  };
}
