// SQLite schema of the items component, versioned by PRAGMA user_version (platform/sqlite.ts): append only.
import type { Migration } from '../../platform/sqlite.ts';

export const sqliteMigrations: readonly Migration[] = [
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
