// PostgreSQL schema of the items component (storage/postgres/migrate.ts applies it by name): append only.
import type { Migration } from '../../component/define-component.ts';

export const postgresMigrations: readonly Migration[] = [
  {
    name: 'items/0001-create',
    // bigint: quantities up to Number.MAX_SAFE_INTEGER, as the API accepts (schemas.ts).
    sql: `CREATE TABLE items (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      quantity bigint NOT NULL CHECK (quantity >= 0),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`,
  },
  {
    name: 'items/0002-by-creation',
    sql: 'CREATE INDEX items_created_at ON items (created_at, id)',
  },
];
