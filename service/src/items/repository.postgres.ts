// Items in PostgreSQL, shared by every replica: parameterised, named (prepared once per connection) queries.
import type pg from 'pg';
import { databaseProblem, type Postgres } from '../component/define-component.ts';
import { type ItemRepository, itemQuery as q } from './repository.ts';
import type { Item } from './schemas.ts';

interface Row {
  id: string;
  name: string;
  quantity: number;
  created_at: Date;
  updated_at: Date;
}

const toItem = (r: Row): Item => ({
  id: r.id,
  name: r.name,
  quantity: r.quantity,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const SQL = {
  insert: 'INSERT INTO items (id, name, quantity, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)',
  byId: 'SELECT id, name, quantity, created_at, updated_at FROM items WHERE id = $1',
  page: 'SELECT id, name, quantity, created_at, updated_at FROM items ORDER BY created_at, id LIMIT $1 OFFSET $2',
  count: 'SELECT count(*) AS n FROM items',
  update: 'UPDATE items SET name = $1, quantity = $2, updated_at = $3 WHERE id = $4',
  delete: 'DELETE FROM items WHERE id = $1',
} as const;

export function createPostgresItemRepository(db: Postgres): ItemRepository {
  // Outages and timeouts become 503 problems (Retry-After), constraint errors 4xx; the rest stays a 500.
  const run = async <R extends pg.QueryResultRow>(
    operation: string,
    name: keyof typeof SQL,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<R>> => {
    try {
      return await db.query<R>(q(operation, SQL[name]), values, `items.${name}`);
    } catch (err) {
      throw databaseProblem(err) ?? err;
    }
  };

  return {
    async insert(item) {
      await run('INSERT', 'insert', [item.id, item.name, item.quantity, item.createdAt, item.updatedAt]);
    },
    async findById(id) {
      const row = (await run<Row>('SELECT', 'byId', [id])).rows[0];
      return row ? toItem(row) : undefined;
    },
    async page(limit, offset) {
      return (await run<Row>('SELECT', 'page', [limit, offset])).rows.map(toItem);
    },
    async count() {
      return (await run<{ n: number }>('SELECT', 'count', [])).rows[0]?.n ?? 0;
    },
    async update(item) {
      return (
        ((await run('UPDATE', 'update', [item.name, item.quantity, item.updatedAt, item.id])).rowCount ?? 0) >
        0
      );
    },
    async delete(id) {
      return ((await run('DELETE', 'delete', [id])).rowCount ?? 0) > 0;
    },
  };
}
