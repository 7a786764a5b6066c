// Builds (and closes) everything the app depends on, from config alone: the composition root.

import type { Component, HttpKit } from './component/define-component.ts';
import { COMPONENTS } from './components.ts';
import type { Config } from './config.ts';
import { StartupRefused } from './errors/startup-error.ts';
import { createRequestStats, type RequestStats } from './health/request-stats.ts';
// --- hardening (issue 4) ---
import { clientKey } from './http/client-ip.ts';
import { createInstrument } from './observability/db-telemetry.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { exemplarPolicy } from './observability/metrics/exemplar-policy.ts';
import { observeHttpClients } from './observability/metrics/http-client-metrics.ts';
import { createMetrics, type Metrics } from './observability/metrics/metrics.ts';
// --- end hardening ---
import { createSecurityEvents, type SecurityEvents } from './observability/security-events.ts';
import { telemetryHandle } from './observability/telemetry-handle.ts';
import { createLifecycle, type Lifecycle } from './process/lifecycle.ts';
import { createRateLimits, type RateLimits } from './rate-limit/limiter.ts';
import { collectMigrations, MigrationRefused } from './storage/migrations.ts';
import { createPostgres } from './storage/postgres/postgres.ts';
import { createRedis, type RedisConnection } from './storage/redis.ts';
import { openDatabase, SQLITE_NAMESPACE, SQLITE_SYSTEM } from './storage/sqlite.ts';

export interface Dependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly securityEvents: SecurityEvents;
  /** The store every component keeps its data in: which backend, and how to close it. */
  readonly database: Database;
  /** The components, open on the database, in mount order; the app mounts their routers. */
  readonly components: readonly OpenComponent[];
  /** Readiness probe of the database (rejects when it cannot serve). */
  readonly pingDatabase: () => Promise<void>;
  // --- hardening (issue 4) ---
  /** Shared with rate limiting and readiness; undefined without REDIS_URL. */
  readonly redis: RedisConnection | undefined;
  readonly rateLimits: RateLimits;
  readonly lifecycle: Lifecycle;
  readonly requestStats: RequestStats;
  // --- end hardening ---
  close(): Promise<void>;
}

export interface Database {
  /** db.system.name of the store: the readiness check is named after it. */
  readonly backend: 'sqlite' | 'postgresql';
  /** Readiness: one cheap query, answered within DATABASE_READY_TIMEOUT_MS. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenComponent {
  readonly component: Component;
  readonly routes: (kit: HttpKit) => import('express').Router;
}

// Readiness asks the database one cheap question and waits no longer than this (probes time out at 1 s).
const DATABASE_READY_TIMEOUT_MS = 500;

// The readiness query keeps the span and series it had when items were the only component.
const PING = { operation: 'SELECT', collection: 'items', text: 'SELECT 1' } as const;

async function openStore(
  config: Config,
  metrics: Metrics,
  logger: Logger,
  components: readonly Component[],
): Promise<{ database: Database; open: readonly OpenComponent[] }> {
  const db = config.database;
  const opened = (store: Parameters<Component['open']>[0]) =>
    components.map((c) => {
      if (c.env && !(c.name in config.componentSettings))
        throw new Error(
          `the configuration was loaded without component ${c.name}: pass loadConfig the same list`,
        );
      return { component: c, ...c.open(store, config.componentSettings[c.name]) };
    });
  if (db.kind === 'sqlite') {
    const migrations = collectMigrations(
      components.map((c) => ({ component: c.name, migrations: c.migrations.sqlite })),
    );
    const sqlite = openDatabase(db.path, migrations);
    const instrument = createInstrument(metrics, { system: SQLITE_SYSTEM, namespace: SQLITE_NAMESPACE });
    return {
      database: {
        backend: 'sqlite',
        async ping() {
          instrument(PING, () => sqlite.prepare(PING.text).get());
        },
        async close() {
          if (sqlite.isOpen) sqlite.close();
        },
      },
      open: opened({ backend: 'sqlite', db: sqlite, instrument }),
    };
  }
  const migrations = collectMigrations(
    components.map((c) => ({ component: c.name, migrations: c.migrations.postgresql })),
  );
  const pg = createPostgres({ config: db, metrics, logger, applicationName: config.serviceName });
  const pingTimeoutMs = Math.min(DATABASE_READY_TIMEOUT_MS, db.statementTimeoutMs);
  // Migrates before serving when the database answers; when it does not, start-up goes on
  // (readiness 503, components 503) and the migrations are retried until it does.
  await pg.start(migrations).catch(async (err: unknown) => {
    await pg.close();
    throw err;
  });
  return {
    database: { backend: 'postgresql', ping: () => pg.ping(pingTimeoutMs), close: () => pg.close() },
    open: opened({ backend: 'postgresql', pg, pingTimeoutMs }),
  };
}

/** One log line for a refused migration, then StartupRefused: server.ts exits 1 without more output. */
function refuse(err: MigrationRefused, config: Config, logger: Logger): never {
  const cause = err.cause as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  logger.fatal(
    {
      backend: config.database.kind,
      reason: err.reason,
      migration: err.migration,
      ...(cause ? { error: { type: cause.name, code: cause.code, message: cause.message } } : {}),
    },
    'database migration refused',
  );
  throw new StartupRefused(`database migration refused: ${err.message}`, { cause: err });
}

export interface DependencyOptions {
  /** Where log lines go (stdout by default); tests pass a stream they can read. */
  readonly logDestination?: import('pino').DestinationStream;
  /**
   * The components to run: service/src/components.ts unless given. Only tests pass a list (the
   * service's own plus a fixture component under test/), so the production list stays the one place.
   */
  readonly components?: readonly Component[];
}

// How long start-up waits for Redis before serving on the in-memory fallback.
const REDIS_STARTUP_WAIT_MS = 2_000;

export async function createDependencies(
  config: Config,
  opts: DependencyOptions = {},
): Promise<Dependencies> {
  const logger = createLogger({
    level: config.logLevel,
    serviceName: config.serviceName,
    environment: config.env,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
    logRecords: telemetryHandle().logRecords,
  });
  const metrics = createMetrics({ version: config.serviceVersion, revision: config.revision });
  const securityEvents = createSecurityEvents({ metrics, logger });
  const { database, open } = await openStore(config, metrics, logger, opts.components ?? COMPONENTS).catch(
    (err: unknown) => (err instanceof MigrationRefused ? refuse(err, config, logger) : Promise.reject(err)),
  );

  // --- hardening (issue 4) ---
  const redis = config.redisUrl
    ? createRedis({ url: config.redisUrl, commandTimeoutMs: config.rateLimits.redisTimeoutMs, logger })
    : undefined;
  // With the offline queue off, commands before `ready` fail: wait a little so a normal start
  // begins on Redis, but never block start-up on an absent Redis (the tiers fall back).
  if (redis && !(await redis.waitReady(REDIS_STARTUP_WAIT_MS)))
    logger.warn(
      { waitedMs: REDIS_STARTUP_WAIT_MS },
      'redis not ready at start-up, rate limits start on fallback',
    );
  // Limiter commands carry deadlines in Redis's clock: measure it before the first one.
  else await redis?.syncClock().catch(() => {});
  const rateLimits = createRateLimits({
    limits: config.rateLimits,
    redis,
    redisTimeoutMs: config.rateLimits.redisTimeoutMs,
    metrics,
    logger,
    securityEvents,
    keyOf: (req) => clientKey(req.ip),
  });
  const requestStats = createRequestStats();
  // --- end hardening ---
  // Last: nothing below can fail and leave the subscription behind.
  const stopClientMetrics = observeHttpClients(
    metrics,
    telemetryHandle().isOwnTraffic,
    exemplarPolicy(config.tailSamplingRatioPercent),
  );

  return {
    config,
    logger,
    metrics,
    securityEvents,
    database,
    components: open,
    pingDatabase: () => database.ping(),
    redis,
    rateLimits,
    lifecycle: createLifecycle(),
    requestStats,
    async close() {
      stopClientMetrics();
      rateLimits.close();
      requestStats.close();
      await redis?.close();
      await database.close();
    },
  };
}
