// Builds (and closes) everything the app depends on, from config alone: the composition root.
import type { DatabaseSync } from 'node:sqlite';
import type { Config } from './config.ts';
import { createItemRepository, itemMigrations } from './items/repository.ts';
import { createItemService, type ItemService } from './items/service.ts';
// --- hardening (issue 4) ---
import { clientKey } from './platform/client-ip.ts';
import { createRequestStats, type RequestStats } from './platform/health/request-stats.ts';
import { createLifecycle, type Lifecycle } from './platform/lifecycle.ts';
import { createLogger, type Logger } from './platform/logger.ts';
import { createMetrics, type Metrics } from './platform/metrics.ts';
import { createRateLimits, type RateLimits } from './platform/rate-limit/limiter.ts';
import { createRedis, type RedisConnection } from './platform/redis.ts';
// --- end hardening ---
import { createSecurityEvents, type SecurityEvents } from './platform/security-events.ts';
import { createInstrument, openDatabase } from './platform/sqlite.ts';

export interface Dependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly securityEvents: SecurityEvents;
  readonly db: DatabaseSync;
  readonly items: ItemService;
  /** Readiness probe of the database. */
  readonly pingDatabase: () => void;
  // --- hardening (issue 4) ---
  /** Shared with rate limiting and readiness; undefined without REDIS_URL. */
  readonly redis: RedisConnection | undefined;
  readonly rateLimits: RateLimits;
  readonly lifecycle: Lifecycle;
  readonly requestStats: RequestStats;
  // --- end hardening ---
  close(): Promise<void>;
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
  });
  const metrics = createMetrics({ version: config.serviceVersion, revision: config.revision });
  const securityEvents = createSecurityEvents({ metrics, logger });
  const db = openDatabase(config.databasePath, itemMigrations);
  const repo = createItemRepository(db, createInstrument(metrics));

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

  return {
    config,
    logger,
    metrics,
    securityEvents,
    db,
    items: createItemService(repo),
    pingDatabase: () => repo.ping(),
    redis,
    rateLimits,
    lifecycle: createLifecycle(),
    requestStats,
    async close() {
      rateLimits.close();
      requestStats.close();
      await redis?.close();
      if (db.isOpen) db.close();
    },
  };
}
