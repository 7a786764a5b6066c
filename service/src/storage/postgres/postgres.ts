// PostgreSQL as the shared store: the traced queries on the pool, migrations at start (retried while
// the database is unreachable), readiness and a bounded close.
import type pg from 'pg';
import { createInstrument, type Instrument, type QuerySpec } from '../../observability/db-telemetry.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics/metrics.ts';
import { withDeadline } from '../../process/deadline.ts';
import type { Migration } from '../migrations.ts';
import { clientConfig, createPool, databaseName, type PostgresConfig } from './connection.ts';
import {
  type Availability,
  DatabaseUnavailableError,
  describeFailure,
  isDatabaseUnavailable,
  trackAvailability,
} from './failures.ts';
import { migrate, retryInBackground } from './migrate.ts';

// DB_SYSTEM_NAME_VALUE_POSTGRESQL lives in the unstable "incubating" entry point; the value is fixed.
export const POSTGRESQL_SYSTEM = 'postgresql';

export interface PostgresOptions {
  readonly config: PostgresConfig;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly applicationName: string;
}

export interface Postgres {
  /** db.namespace of every span: the database name. */
  readonly namespace: string;
  readonly instrument: Instrument;
  /** One traced query on the pool; failures come back as they are (map them with databaseProblem). */
  query<R extends pg.QueryResultRow>(
    spec: QuerySpec,
    values: readonly unknown[],
    name?: string,
  ): Promise<pg.QueryResult<R>>;
  /** Applies pending migrations once; start() retries it while the database is unreachable. */
  start(migrations: readonly Migration[]): Promise<void>;
  /** Readiness: migrated, and `SELECT 1` answered within timeoutMs. */
  ping(timeoutMs: number): Promise<void>;
  readonly migrated: boolean;
  close(): Promise<void>;
}

export function createPostgres({ config, metrics, logger, applicationName }: PostgresOptions): Postgres {
  const namespace = databaseName(config.url);
  const instrument = createInstrument(metrics, { system: POSTGRESQL_SYSTEM, namespace });
  const connection = clientConfig(config, applicationName);
  const availability = trackAvailability(metrics, logger, namespace);
  const pool = createPool(connection, config, metrics, availability.noteFailure);
  const stopRetry = new AbortController();
  let migrated = false;
  const assertMigrated = () => {
    if (!migrated) throw new DatabaseUnavailableError('the database schema is not migrated yet');
  };
  const migrateOnce = async (migrations: readonly Migration[]) => {
    const applied = await migrate(connection, instrument, migrations);
    migrated = true;
    availability.noteSuccess();
    const version = migrations.at(-1)?.name ?? null;
    logger.info({ database: namespace, applied, version }, 'database migrations up to date');
  };
  return {
    namespace,
    instrument,
    async query(spec, values, name) {
      assertMigrated();
      return availability.watch(
        instrument(spec, () =>
          pool.query({ text: spec.text, values: values as unknown[], ...(name ? { name } : {}) }),
        ),
      );
    },
    get migrated() {
      return migrated;
    },
    start: (migrations) =>
      startMigrations(() => migrateOnce(migrations), { availability, logger, namespace, stopRetry }),
    async ping(timeoutMs) {
      assertMigrated();
      await availability.watch(readinessQuery(pool, instrument, timeoutMs));
    },
    async close() {
      if (stopRetry.signal.aborted) return;
      stopRetry.abort();
      // Bounded: ending a connection on a silent network waits for a FIN that may never come, and
      // shutdown has its own deadline to keep.
      await withDeadline(pool.end(), config.connectTimeoutMs);
    },
  };
}

interface StartContext {
  readonly availability: Availability;
  readonly logger: Logger;
  readonly namespace: string;
  readonly stopRetry: AbortController;
}

// A broken migration on a reachable database stops the start; an unreachable database does not.
async function startMigrations(migrateOnce: () => Promise<void>, ctx: StartContext): Promise<void> {
  const { availability, logger, namespace } = ctx;
  try {
    await migrateOnce();
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    availability.noteFailure(err);
    logger.warn(
      { err: describeFailure(err), database: namespace },
      'database unreachable at start-up, migrations retried in the background',
    );
    void retryInBackground(migrateOnce, ctx.stopRetry.signal, (retryErr) => {
      availability.noteFailure(retryErr);
      // A migration that fails on a reachable database needs a person: say it loudly, keep trying.
      if (!isDatabaseUnavailable(retryErr))
        logger.error({ err: describeFailure(retryErr), database: namespace }, 'database migration failed');
    });
  }
}

// The pool wait counts too: a deadline around the whole call, not only the query's own.
async function readinessQuery(pool: pg.Pool, instrument: Instrument, timeoutMs: number): Promise<void> {
  const answer = instrument({ operation: 'SELECT', collection: 'items', text: 'SELECT 1' }, () =>
    // query_timeout per query is read by pg (client.js) but missing from @types/pg's QueryConfig.
    pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig),
  );
  if (!(await withDeadline(answer, timeoutMs)))
    throw new DatabaseUnavailableError('readiness query timed out');
  await answer; // settled in time: its own failure, if any, is rethrown here
}
