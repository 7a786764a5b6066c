// How connections to PostgreSQL are made: the client settings (password file, bigint parsing), a
// client that closes itself when connecting fails, and the request pool with its metrics.
// @see https://node-postgres.com/apis/pool
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import type { DatabaseConfig } from '../../config.ts';
import type { Metrics } from '../../observability/metrics/metrics.ts';
import { DatabaseUnavailableError } from './failures.ts';

export type PostgresConfig = Extract<DatabaseConfig, { kind: 'postgresql' }>;

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

// The password file is read for every new connection, so a rotated secret needs no restart.
// A secret that vanished (an unmounted volume) is the database being unreachable to us: 503, logged.
function passwordOf(config: PostgresConfig): pg.ClientConfig['password'] {
  const file = config.passwordFile;
  if (!file) return config.urlPassword;
  return async () => {
    try {
      return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
    } catch (err) {
      throw new DatabaseUnavailableError('DATABASE_PASSWORD_FILE cannot be read', { cause: err });
    }
  };
}

/** What every connection, the pool's and the migrations', is opened with. */
export function clientConfig(config: PostgresConfig, applicationName: string): pg.ClientConfig {
  const password = passwordOf(config);
  return {
    // Parsed here rather than passed as connectionString: pg lets a connectionString override every
    // other field, the (empty) password included, so a password function would never be called.
    ...(parseIntoClientConfig(config.url) as pg.ClientConfig),
    ...(password === undefined ? {} : { password }),
    application_name: applicationName,
    connectionTimeoutMillis: config.connectTimeoutMs,
    keepAlive: true,
    types,
  };
}

/** The requests' pool; `onIdleError` hears of idle connections that die (the pool drops and replaces them). */
export function createPool(
  connection: pg.ClientConfig,
  config: PostgresConfig,
  metrics: Metrics,
  onIdleError: (err: unknown) => void,
): pg.Pool {
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
  // Without a listener the pool's 'error' event (server restart, network cut) would crash the process.
  pool.on('error', onIdleError);
  metrics.observeDbPool(() => ({
    idle: pool.idleCount,
    used: pool.totalCount - pool.idleCount,
    pending: pool.waitingCount,
    max: config.poolMax,
  }));
  return pool;
}
