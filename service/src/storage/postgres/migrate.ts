// The migration run on PostgreSQL: one session under an advisory lock, each migration in a transaction
// with the record of its name; retried in the background while the database is unreachable.
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Instrument } from '../../observability/db-telemetry.ts';
import {
  APPLIED_MIGRATIONS_TABLE,
  type Migration,
  MigrationRefused,
  pendingMigrations,
  previouslyApplied,
} from '../migrations.ts';
import { ClosingClient } from './connection.ts';
import { isDatabaseUnavailable } from './failures.ts';

// One lock for every replica of every version: whoever holds it migrates, the others wait and find
// nothing left to do. hashtext() turns the readable name into the integer key advisory locks take.
const MIGRATION_LOCK = 'SELECT pg_advisory_lock(hashtext($1))';
const MIGRATION_UNLOCK = 'SELECT pg_advisory_unlock(hashtext($1))';
const MIGRATION_LOCK_NAME = 'schema_migrations';
// Migrations may wait for another replica's lock and rebuild tables: not the request budget.
const MIGRATION_TIMEOUT_MS = 60_000;
const MIGRATION_RETRY_MS = [500, 1_000, 2_000, 5_000] as const;

/** One traced statement of the migration session. */
type Run = (operation: string, text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/** Applies the pending migrations under the advisory lock; returns the names it applied. */
export async function migrate(
  connection: pg.ClientConfig,
  instrument: Instrument,
  migrations: readonly Migration[],
): Promise<string[]> {
  // Its own connection, not the pool's: the session holds the advisory lock, and it needs a
  // longer statement timeout than requests get.
  const client = new ClosingClient({
    ...connection,
    statement_timeout: MIGRATION_TIMEOUT_MS,
    query_timeout: MIGRATION_TIMEOUT_MS,
  });
  // A connection that dies while idle must not crash the process; the awaited query fails instead.
  client.on('error', () => {});
  const run: Run = (operation, text, values = []) =>
    instrument({ operation, collection: MIGRATION_LOCK_NAME, text }, () => client.query(text, values));
  await client.connect();
  try {
    await run('SELECT', MIGRATION_LOCK, [MIGRATION_LOCK_NAME]);
    try {
      await adoptNumberedMigrations(client, run);
      return await applyPending(client, run, migrations);
    } finally {
      await run('SELECT', MIGRATION_UNLOCK, [MIGRATION_LOCK_NAME]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates the table of applied names on first run, recording what releases before named migrations applied. */
async function adoptNumberedMigrations(client: pg.Client, run: Run): Promise<void> {
  const tables = await run(
    'SELECT',
    'SELECT to_regclass($1) IS NOT NULL AS named, to_regclass($2) IS NOT NULL AS numbered',
    [APPLIED_MIGRATIONS_TABLE, MIGRATION_LOCK_NAME],
  );
  const { named, numbered } = tables.rows[0] as { named: boolean; numbered: boolean };
  if (named) return;
  // Releases before named migrations numbered them in schema_migrations; that table stays as it
  // was (an older replica still reads it), its versions are recorded here by name once.
  const versions = numbered
    ? (await run('SELECT', 'SELECT version FROM schema_migrations')).rows.map(
        (r: { version: number }) => r.version,
      )
    : [];
  const names = previouslyApplied(versions);
  await transaction(client, async () => {
    await run(
      'CREATE',
      `CREATE TABLE ${APPLIED_MIGRATIONS_TABLE} (
                name text PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
              )`,
    );
    for (const name of names) await record(run, name);
  });
}

async function applyPending(
  client: pg.Client,
  run: Run,
  migrations: readonly Migration[],
): Promise<string[]> {
  const done = await run('SELECT', `SELECT name FROM ${APPLIED_MIGRATIONS_TABLE}`);
  const applied: string[] = [];
  for (const m of pendingMigrations(
    migrations,
    done.rows.map((r: { name: string }) => r.name),
  )) {
    // DDL is transactional in PostgreSQL: a failed migration leaves no half-built schema.
    try {
      await transaction(client, async () => {
        await run('MIGRATE', m.sql);
        await record(run, m.name);
      });
    } catch (err) {
      // A lost connection is retried; a statement the database refuses needs a person.
      if (isDatabaseUnavailable(err)) throw err;
      throw new MigrationRefused('migration failed', m.name, { cause: err });
    }
    applied.push(m.name);
  }
  return applied;
}

const record = (run: Run, name: string) =>
  run('INSERT', `INSERT INTO ${APPLIED_MIGRATIONS_TABLE} (name) VALUES ($1)`, [name]);

async function transaction(client: pg.Client, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * Calls `attempt` after growing waits until it succeeds or `signal` aborts; `onFailure` hears of each
 * failed attempt. While the database is unreachable the service runs (readiness 503, items 503).
 */
export async function retryInBackground(
  attempt: () => Promise<void>,
  signal: AbortSignal,
  onFailure: (err: unknown) => void,
): Promise<void> {
  for (let n = 0; !signal.aborted; n++) {
    const wait = MIGRATION_RETRY_MS[Math.min(n, MIGRATION_RETRY_MS.length - 1)] ?? 5_000;
    try {
      await sleep(wait, undefined, { signal, ref: false });
    } catch {
      return;
    }
    try {
      await attempt();
      return;
    } catch (err) {
      if (signal.aborted) return;
      onFailure(err);
    }
  }
}
