// Items persistence: prepared statements only, each query traced and timed.
import type { DatabaseSync } from 'node:sqlite';
import type { Instrument, Migration } from '../platform/sqlite.ts';
import type { Item } from './schemas.ts';

export const itemMigrations: readonly Migration[] = [
  (db) =>
    db.exec(`CREATE TABLE items (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      quantity INTEGER NOT NULL CHECK (quantity >= 0),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT`),
  (db) => db.exec('CREATE INDEX items_created_at ON items (created_at, id)'),
];

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

export function createItemRepository(db: DatabaseSync, instrument: Instrument) {
  const stmt = {
    insert: db.prepare(SQL.insert),
    byId: db.prepare(SQL.byId),
    page: db.prepare(SQL.page),
    count: db.prepare(SQL.count),
    update: db.prepare(SQL.update),
    delete: db.prepare(SQL.delete),
  };
  const q = (operation: string, text: string) => ({ operation, collection: 'items', text });

  return {
    insert(item: Item): void {
      instrument(q('INSERT', SQL.insert), () =>
        stmt.insert.run(item.id, item.name, item.quantity, item.createdAt, item.updatedAt),
      );
    },
    findById(id: string): Item | undefined {
      const row = instrument(q('SELECT', SQL.byId), () => stmt.byId.get(id)) as Row | undefined;
      return row ? toItem(row) : undefined;
    },
    page(limit: number, offset: number): Item[] {
      return (instrument(q('SELECT', SQL.page), () => stmt.page.all(limit, offset)) as unknown as Row[]).map(
        toItem,
      );
    },
    count(): number {
      return (instrument(q('SELECT', SQL.count), () => stmt.count.get()) as { n: number }).n;
    },
    update(item: Item): boolean {
      const r = instrument(q('UPDATE', SQL.update), () =>
        stmt.update.run(item.name, item.quantity, item.updatedAt, item.id),
      );
      return r.changes > 0;
    },
    delete(id: string): boolean {
      return instrument(q('DELETE', SQL.delete), () => stmt.delete.run(id)).changes > 0;
    },
    /** Cheap liveness probe for readiness checks. */
    ping(): void {
      instrument(q('SELECT', 'SELECT 1'), () => db.prepare('SELECT 1').get());
    },
  };
}

export type ItemRepository = ReturnType<typeof createItemRepository>;
