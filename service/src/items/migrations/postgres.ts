// PostgreSQL schema of the items component, versioned in schema_migrations (platform/postgres.ts): append only.
import type { PgMigration } from '../../platform/postgres.ts';

export const postgresMigrations: readonly PgMigration[] = [
  {
    version: 1,
    name: 'create items',
    // bigint: quantities up to Number.MAX_SAFE_INTEGER, as the API accepts (schemas.ts).
    sql: `CREATE TABLE items (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      quantity bigint NOT NULL CHECK (quantity >= 0),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`,
  },
  { version: 2, name: 'items by creation', sql: 'CREATE INDEX items_created_at ON items (created_at, id)' },
];
