// Builds (and closes) everything the app depends on, from config alone: the composition root.
import type { Config } from './config.ts';
import { postgresMigrations } from './items/migrations/postgres.ts';
import { sqliteMigrations } from './items/migrations/sqlite.ts';
import { createPostgresItemRepository } from './items/repository.postgres.ts';
import { createSqliteItemRepository } from './items/repository.sqlite.ts';
import type { ItemRepository } from './items/repository.ts';
import { createItemService, type ItemService } from './items/service.ts';
// --- hardening (issue 4) ---
import { clientKey } from './platform/client-ip.ts';
import { createInstrument } from './platform/db-telemetry.ts';
import { exemplarPolicy } from './platform/exemplar-policy.ts';
import { createRequestStats, type RequestStats } from './platform/health/request-stats.ts';
import { observeHttpClients } from './platform/http-client-metrics.ts';
import { createLifecycle, type Lifecycle } from './platform/lifecycle.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { createMetrics, type Metrics } from './platform/metrics.ts';
import { createPostgres } from './platform/postgres.ts';
import { createRateLimits, type RateLimits } from './platform/rate-limit/limiter.ts';
import { createRedis, type RedisConnection } from './platform/redis.ts';
// --- end hardening ---
import { createSecurityEvents, type SecurityEvents } from './platform/security-events.ts';
import { openDatabase, SQLITE_NAMESPACE, SQLITE_SYSTEM } from './platform/sqlite.ts';
import { telemetryHandle } from './platform/telemetry-handle.ts';

export interface Dependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly securityEvents: SecurityEvents;
  /** The item store: which backend, and how to close it. */
  readonly database: Database;
  readonly items: ItemService;
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
  readonly repository: ItemRepository;
  close(): Promise<void>;
}

// Readiness asks the database one cheap question and waits no longer than this (probes time out at 1 s).
const DATABASE_READY_TIMEOUT_MS = 500;

async function openItemStore(config: Config, metrics: Metrics, logger: Logger): Promise<Database> {
  const db = config.database;
  if (db.kind === 'sqlite') {
    const sqlite = openDatabase(db.path, sqliteMigrations);
    const instrument = createInstrument(metrics, { system: SQLITE_SYSTEM, namespace: SQLITE_NAMESPACE });
    return {
      backend: 'sqlite',
      repository: createSqliteItemRepository(sqlite, instrument),
      async close() {
        if (sqlite.isOpen) sqlite.close();
      },
    };
  }
  const pg = createPostgres({ config: db, metrics, logger, applicationName: config.serviceName });
  // Migrates before serving when the database answers; when it does not, start-up goes on
  // (readiness 503, items 503) and the migrations are retried until it does.
  await pg.start(postgresMigrations);
  return {
    backend: 'postgresql',
    repository: createPostgresItemRepository(pg, Math.min(DATABASE_READY_TIMEOUT_MS, db.statementTimeoutMs)),
    close: () => pg.close(),
  };
}

export interface DependencyOptions {
  /** Where log lines go (stdout by default); tests pass a stream they can read. */
  readonly logDestination?: import('pino').DestinationStream;
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
  const database = await openItemStore(config, metrics, logger);
  const repo = database.repository;

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
    items: createItemService(repo),
    pingDatabase: () => repo.ping(),
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
