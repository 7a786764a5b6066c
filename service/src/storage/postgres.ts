// PostgreSQL as the shared store: the pg pool, its metrics, migrations under an advisory lock, health, and outage mapping.
// @see https://node-postgres.com/apis/pool
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import {
  APPLIED_MIGRATIONS_TABLE,
  type Migration,
  MigrationRefused,
  pendingMigrations,
  previouslyApplied,
} from '../component/migrations.ts';
import type { DatabaseConfig } from '../config.ts';
import { HttpProblem } from '../errors/errors.ts';
import { createInstrument, type Instrument, type QuerySpec } from '../observability/db-telemetry.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics/metrics.ts';

// DB_SYSTEM_NAME_VALUE_POSTGRESQL lives in the unstable "incubating" entry point; the value is fixed.
export const POSTGRESQL_SYSTEM = 'postgresql';
/** Seconds a client should wait before retrying after a 503 dependency-unavailable (docs/contract.md). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;
// One lock for every replica of every version: whoever holds it migrates, the others wait and find
// nothing left to do. hashtext() turns the readable name into the integer key advisory locks take.
const MIGRATION_LOCK = 'SELECT pg_advisory_lock(hashtext($1))';
const MIGRATION_UNLOCK = 'SELECT pg_advisory_unlock(hashtext($1))';
const MIGRATION_LOCK_NAME = 'schema_migrations';
// Migrations may wait for another replica's lock and rebuild tables: not the request budget.
const MIGRATION_TIMEOUT_MS = 60_000;
const MIGRATION_RETRY_MS = [500, 1_000, 2_000, 5_000] as const;

type PostgresConfig = Extract<DatabaseConfig, { kind: 'postgresql' }>;

/** Raised while the database cannot serve: unreachable, too slow, or not migrated yet. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

// What a failure means for the caller. Connection-level trouble and timeouts are the database's
// state, not the request's fault: 503 with Retry-After. Constraint and data errors are the request's.
type Failure = 'timeout' | 'unavailable' | 'conflict' | 'invalid' | 'unexpected';

// Node's socket errors; a cluster address that resolves to several hosts reports an AggregateError.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// pg raises these as plain Errors without a code (lib/client.js, pg-pool/index.js).
const CONNECT_TIMEOUT =
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout/;
const CONNECTION_LOST = /Connection terminated|connection error|not queryable|Client was closed/i;

function classify(err: unknown): Failure {
  if (err instanceof DatabaseUnavailableError) return 'unavailable';
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  // 57014 query_canceled: the server's statement_timeout; "Query read timeout": the client's.
  if (code === '57014' || message === 'Query read timeout' || CONNECT_TIMEOUT.test(message)) return 'timeout';
  // 08xxx connection exceptions, 57P0x the server shutting down or starting, 53300 too many connections.
  if (code.startsWith('08') || /^57P0[1-3]$/.test(code) || code === '53300') return 'unavailable';
  if (NETWORK_CODES.has(code) || CONNECTION_LOST.test(message)) return 'unavailable';
  if (Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every((x) => classify(x) === 'unavailable'))
    return 'unavailable';
  // Class 23 integrity constraint violations (23505 unique, 23514 check, ...), class 22 data exceptions.
  if (code.startsWith('23')) return 'conflict';
  if (code.startsWith('22')) return 'invalid';
  return 'unexpected';
}

/** True when the failure is the database's state (unreachable, timed out), not the query's. */
export const isDatabaseUnavailable = (err: unknown): boolean => {
  const f = classify(err);
  return f === 'timeout' || f === 'unavailable';
};

/** The problem a database failure answers with; undefined when it is unexpected (a 500 by the error handler). */
export function databaseProblem(err: unknown): HttpProblem | undefined {
  switch (classify(err)) {
    case 'timeout':
    case 'unavailable':
      return new HttpProblem(503, {
        type: 'dependency-unavailable',
        title: 'Dependency unavailable',
        detail: 'The database is unavailable or did not answer in time; retry later.',
        headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
        cause: err,
      });
    case 'conflict':
      return new HttpProblem(409, { detail: 'The request conflicts with stored data.', cause: err });
    case 'invalid':
      return new HttpProblem(400, { detail: 'The database refused a value of the request.', cause: err });
    default:
      return undefined;
  }
}

/** The database name of a connection URL: db.namespace (never the URL, host or user). */
export function databaseName(url: string): string {
  const u = new URL(url);
  const path = decodeURIComponent(u.pathname.replace(/^\//, ''));
  // libpq's default: the database named like the user.
  return path || decodeURIComponent(u.username) || 'postgres';
}

// bigint (int8, OID 20) arrives as a string by default; counts and quantities stay within
// Number.MAX_SAFE_INTEGER (schemas.ts caps quantity there), so a number is exact.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A pg Client that closes its socket when connecting fails. pg-pool drops such a client without
 * ending it; when the failure was on our side (the password file could not be read) the server is
 * still waiting for the password, and every retry would leave one more connection open.
 */
export class ClosingClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
  override connect(
    callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void),
  ): Promise<pg.Client> | undefined {
    if (!callback)
      return super.connect().catch(async (err: unknown) => {
        await this.end().catch(() => {});
        throw err;
      });
    super.connect(((err: Error | null, c?: pg.Client) => {
      if (err) this.end().catch(() => {});
      (callback as (err: Error | null, c?: pg.Client) => void)(err, c);
    }) as (err: Error) => void);
    return undefined;
  }
}

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
  // The password file is read for every new connection, so a rotated secret needs no restart.
  // A secret that vanished (an unmounted volume) is the database being unreachable to us: 503, logged.
  const password = config.passwordFile
    ? async () => {
        try {
          return (await readFile(config.passwordFile as string, 'utf8')).replace(/\r?\n$/, '');
        } catch (err) {
          throw new DatabaseUnavailableError('DATABASE_PASSWORD_FILE cannot be read', { cause: err });
        }
      }
    : config.urlPassword;
  const connection = {
    // Parsed here rather than passed as connectionString: pg lets a connectionString override every
    // other field, the (empty) password included, so a password function would never be called.
    ...parseIntoClientConfig(config.url),
    ...(password === undefined ? {} : { password }),
    application_name: applicationName,
    connectionTimeoutMillis: config.connectTimeoutMs,
    keepAlive: true,
    types,
  };
  const pool = new pg.Pool({
    ...connection,
    Client: ClosingClient as unknown as new () => pg.ClientBase,
    max: config.poolMax,
    idleTimeoutMillis: 30_000,
    // The server cancels a slow statement (57014); the client gives up on a silent connection (a
    // stalled network) at the same deadline, so no request waits longer than the budget.
    statement_timeout: config.statementTimeoutMs,
    query_timeout: config.statementTimeoutMs,
  });
  // An idle connection that dies (server restart, network cut) is reported here; without a
  // listener the pool's 'error' event would crash the process. The pool drops it and reconnects.
  pool.on('error', (err) => noteFailure(err));
  metrics.observeDbPool(() => ({
    idle: pool.idleCount,
    used: pool.totalCount - pool.idleCount,
    pending: pool.waitingCount,
    max: config.poolMax,
  }));

  let available = true;
  let migrated = false;
  let closed = false;
  const stopRetry = new AbortController();

  // One line per change of state, not one per failed request.
  function noteFailure(err: unknown): void {
    if (CONNECT_TIMEOUT.test((err as Error | null)?.message ?? '')) metrics.dbConnectionTimeouts.inc();
    if (!available || !isDatabaseUnavailable(err)) return;
    available = false;
    logger.warn({ err: describe(err), database: namespace }, 'database unavailable');
  }
  function noteSuccess(): void {
    if (available) return;
    available = true;
    logger.info({ database: namespace }, 'database available again');
  }

  async function query<R extends pg.QueryResultRow>(
    spec: QuerySpec,
    values: readonly unknown[],
    name?: string,
  ): Promise<pg.QueryResult<R>> {
    if (!migrated) throw new DatabaseUnavailableError('the database schema is not migrated yet');
    try {
      const result = await instrument(spec, () =>
        pool.query<R>({ text: spec.text, values: values as unknown[], ...(name ? { name } : {}) }),
      );
      noteSuccess();
      return result;
    } catch (err) {
      noteFailure(err);
      throw err;
    }
  }

  async function migrate(migrations: readonly Migration[]): Promise<string[]> {
    // Its own connection, not the pool's: the session holds the advisory lock, and it needs a
    // longer statement timeout than requests get.
    const client = new ClosingClient({
      ...connection,
      statement_timeout: MIGRATION_TIMEOUT_MS,
      query_timeout: MIGRATION_TIMEOUT_MS,
    });
    // A connection that dies while idle must not crash the process; the awaited query fails instead.
    client.on('error', () => {});
    const run = (operation: string, collection: string, text: string, values: unknown[] = []) =>
      instrument({ operation, collection, text }, () => client.query(text, values));
    await client.connect();
    const applied: string[] = [];
    const transaction = async (work: () => Promise<void>) => {
      await client.query('BEGIN');
      try {
        await work();
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    };
    const record = (name: string) =>
      run('INSERT', MIGRATION_LOCK_NAME, `INSERT INTO ${APPLIED_MIGRATIONS_TABLE} (name) VALUES ($1)`, [
        name,
      ]);
    try {
      await run('SELECT', MIGRATION_LOCK_NAME, MIGRATION_LOCK, [MIGRATION_LOCK_NAME]);
      try {
        const tables = await run(
          'SELECT',
          MIGRATION_LOCK_NAME,
          'SELECT to_regclass($1) IS NOT NULL AS named, to_regclass($2) IS NOT NULL AS numbered',
          [APPLIED_MIGRATIONS_TABLE, MIGRATION_LOCK_NAME],
        );
        const { named, numbered } = tables.rows[0] as { named: boolean; numbered: boolean };
        if (!named) {
          // Releases before named migrations numbered them in schema_migrations; that table stays as it
          // was (an older replica still reads it), its versions are recorded here by name once.
          const versions = numbered
            ? (await run('SELECT', MIGRATION_LOCK_NAME, 'SELECT version FROM schema_migrations')).rows.map(
                (r: { version: number }) => r.version,
              )
            : [];
          const names = previouslyApplied(versions);
          await transaction(async () => {
            await run(
              'CREATE',
              MIGRATION_LOCK_NAME,
              `CREATE TABLE ${APPLIED_MIGRATIONS_TABLE} (
                name text PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
              )`,
            );
            for (const name of names) await record(name);
          });
        }
        const done = await run('SELECT', MIGRATION_LOCK_NAME, `SELECT name FROM ${APPLIED_MIGRATIONS_TABLE}`);
        for (const m of pendingMigrations(
          migrations,
          done.rows.map((r: { name: string }) => r.name),
        )) {
          // DDL is transactional in PostgreSQL: a failed migration leaves no half-built schema.
          try {
            await transaction(async () => {
              await run('MIGRATE', MIGRATION_LOCK_NAME, m.sql);
              await record(m.name);
            });
          } catch (err) {
            // A lost connection is retried; a statement the database refuses needs a person.
            if (isDatabaseUnavailable(err)) throw err;
            throw new MigrationRefused('migration failed', m.name, { cause: err });
          }
          applied.push(m.name);
        }
      } finally {
        await run('SELECT', MIGRATION_LOCK_NAME, MIGRATION_UNLOCK, [MIGRATION_LOCK_NAME]).catch(() => {});
      }
    } finally {
      await client.end().catch(() => {});
    }
    return applied;
  }

  async function migrateOnce(migrations: readonly Migration[]): Promise<void> {
    const applied = await migrate(migrations);
    migrated = true;
    noteSuccess();
    logger.info(
      { database: namespace, applied, version: migrations.at(-1)?.name ?? null },
      'database migrations up to date',
    );
  }

  // While the database is unreachable the service runs (readiness 503, items 503) and keeps trying.
  async function retryInBackground(migrations: readonly Migration[]): Promise<void> {
    for (let attempt = 0; !closed; attempt++) {
      const wait = MIGRATION_RETRY_MS[Math.min(attempt, MIGRATION_RETRY_MS.length - 1)] ?? 5_000;
      try {
        await sleep(wait, undefined, { signal: stopRetry.signal, ref: false });
      } catch {
        return;
      }
      try {
        await migrateOnce(migrations);
        return;
      } catch (err) {
        if (closed) return;
        noteFailure(err);
        // A migration that fails on a reachable database needs a person: say it loudly, keep trying.
        if (!isDatabaseUnavailable(err))
          logger.error({ err: describe(err), database: namespace }, 'database migration failed');
      }
    }
  }

  return {
    namespace,
    instrument,
    query,
    get migrated() {
      return migrated;
    },
    async start(migrations) {
      try {
        await migrateOnce(migrations);
      } catch (err) {
        // A broken migration on a reachable database stops the start; an unreachable one does not.
        if (!isDatabaseUnavailable(err)) throw err;
        noteFailure(err);
        logger.warn(
          { err: describe(err), database: namespace },
          'database unreachable at start-up, migrations retried in the background',
        );
        void retryInBackground(migrations);
      }
    },
    async ping(timeoutMs) {
      if (!migrated) throw new DatabaseUnavailableError('the database schema is not migrated yet');
      // The pool wait counts too: a deadline around the whole call, not only the query's own.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DatabaseUnavailableError('readiness query timed out')),
          timeoutMs,
        );
      });
      try {
        await Promise.race([
          instrument({ operation: 'SELECT', collection: 'items', text: 'SELECT 1' }, () =>
            // query_timeout per query is read by pg (client.js) but missing from @types/pg's QueryConfig.
            pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig),
          ),
          deadline,
        ]);
        noteSuccess();
      } catch (err) {
        noteFailure(err);
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      stopRetry.abort();
      // Bounded: ending a connection on a silent network waits for a FIN that may never come, and
      // shutdown has its own deadline to keep.
      await Promise.race([
        pool.end().catch(() => {}),
        sleep(config.connectTimeoutMs, undefined, { ref: false }),
      ]);
    },
  };
}

// The failure's kind and message for logs: pg messages name objects, not values, and never the password.
const describe = (err: unknown) => ({
  type: (err as Error | null)?.name ?? 'Error',
  code: (err as { code?: unknown } | null)?.code,
  message: (err as Error | null)?.message,
});
