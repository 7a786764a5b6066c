// SQLite schema of the items component (storage/sqlite.ts applies it by name): append only.
import type { Migration } from '../../component/define-component.ts';

export const sqliteMigrations: readonly Migration[] = [
  {
    name: 'items/0001-create',
    sql: `CREATE TABLE items (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      quantity INTEGER NOT NULL CHECK (quantity >= 0),
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT`,
  },
  {
    name: 'items/0002-by-creation',
    sql: 'CREATE INDEX items_created_at ON items (created_at, id)',
  },
];
