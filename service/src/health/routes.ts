// Health endpoints: liveness and readiness (public, never rate-limited) and three admin-only views.
import { memoryUsage } from 'node:process';
import { getHeapStatistics } from 'node:v8';
import { type RequestHandler, Router } from 'express';
import type { Config } from '../config.ts';
import { describeTrustProxy } from '../http/client-ip.ts';
import { corsMode } from '../http/cors.ts';
import { SECURITY_HEADER_POSTURE } from '../http/security-headers.ts';
import { type Metrics, SECURITY_EVENT_TYPES } from '../observability/metrics/metrics.ts';
import type { Lifecycle } from '../process/lifecycle.ts';
import type { RateLimits } from '../rate-limit/limiter.ts';
import type { RedisConnection } from '../storage/redis.ts';
import type { RequestStats } from './request-stats.ts';

export const HEALTH_PATH = '/api/health';

export interface HealthDeps {
  readonly config: Config;
  readonly lifecycle: Lifecycle;
  readonly metrics: Metrics;
  readonly pingDatabase: () => Promise<void>;
  /** The readiness check is named after the backend: `sqlite` or `postgresql`. */
  readonly database: { readonly backend: string };
  readonly redis: RedisConnection | undefined;
  readonly rateLimits: RateLimits;
  readonly requestStats: RequestStats;
}

interface Check {
  readonly status: 'up' | 'down' | 'not_configured';
  readonly latencyMs?: number;
  readonly error?: string;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

// Bounded by the database's own readiness deadline (dependencies.ts), so readiness never hangs.
async function checkDatabase(ping: () => Promise<void>): Promise<Check> {
  const start = performance.now();
  try {
    await ping();
    return { status: 'up', latencyMs: round(performance.now() - start) };
  } catch {
    // The message may carry a file path or a host: status only.
    return { status: 'down', latencyMs: round(performance.now() - start), error: 'query failed' };
  }
}

// Bounded by the Redis command timeout (ioredis commandTimeout), so readiness never hangs.
async function checkRedis(redis: RedisConnection | undefined): Promise<Check> {
  if (!redis) return { status: 'not_configured' };
  if (!redis.isReady()) return { status: 'down', error: 'not connected' };
  try {
    return { status: 'up', latencyMs: round(await redis.ping()) };
  } catch (err) {
    return {
      status: 'down',
      error: err instanceof Error && /timed out/i.test(err.message) ? 'timeout' : 'error',
    };
  }
}

/** Liveness and readiness, mounted at HEALTH_PATH before rate limiting. */
export function probeRoutes(deps: HealthDeps): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    if (deps.lifecycle.draining) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    const [database, redis] = await Promise.all([checkDatabase(deps.pingDatabase), checkRedis(deps.redis)]);
    const rateLimit = deps.rateLimits.status();
    const degraded = Object.values(rateLimit).some((t) => t.degraded);
    // Redis down is degraded, not unready: general and api tiers keep serving from memory.
    const status =
      database.status !== 'up' ? 'unavailable' : degraded || redis.status === 'down' ? 'degraded' : 'ok';
    res
      .status(status === 'unavailable' ? 503 : 200)
      .json({ status, checks: { [deps.database.backend]: database, redis }, rateLimit });
  });
  return router;
}

/** Admin views, mounted at HEALTH_PATH; the caller puts the admin tier and the admin token in front. */
export function adminHealthRoutes(deps: HealthDeps, guard: readonly RequestHandler[]): Router {
  const router = Router();
  const { config } = deps;

  router.get('/detailed', ...guard, async (_req, res) => {
    const mem = memoryUsage();
    res.json({
      status: deps.lifecycle.draining ? 'draining' : 'ok',
      version: config.serviceVersion,
      revision: config.revision,
      environment: config.env,
      uptimeSeconds: Math.round(process.uptime()),
      dependencies: {
        [deps.database.backend]: await checkDatabase(deps.pingDatabase),
        redis: await checkRedis(deps.redis),
      },
      memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, heapTotalBytes: mem.heapTotal },
      eventLoop: deps.requestStats.eventLoop(),
    });
  });

  router.get('/security', ...guard, async (_req, res) => {
    const counted = await deps.metrics.securityEvents.get();
    const events: Record<string, number> = {};
    for (const type of SECURITY_EVENT_TYPES) events[type] = 0;
    for (const v of counted.values) if (typeof v.labels.type === 'string') events[v.labels.type] = v.value;
    res.json({
      securityEventsSinceStart: events,
      rateLimit: { store: deps.rateLimits.store, tiers: deps.rateLimits.status() },
      posture: {
        environment: config.env,
        cors: { mode: corsMode(config.corsOrigins), origins: config.corsOrigins, credentials: false },
        trustProxy: describeTrustProxy(config.trustProxy),
        headers: { ...SECURITY_HEADER_POSTURE, strictTransportSecurity: config.isProduction },
        bodyLimitBytes: config.bodyLimitBytes,
        apiTokensConfigured: config.auth.apiTokens.length,
        adminTokenConfigured: config.auth.adminToken !== undefined,
        debugRoutes: config.debugRoutes,
      },
    });
  });

  router.get('/performance', ...guard, (_req, res) => {
    const heap = getHeapStatistics();
    res.json({
      requests: { lastMinute: deps.requestStats.summary(1), last5Minutes: deps.requestStats.summary(5) },
      eventLoop: deps.requestStats.eventLoop(),
      heap: {
        usedBytes: heap.used_heap_size,
        totalBytes: heap.total_heap_size,
        limitBytes: heap.heap_size_limit,
      },
    });
  });
  return router;
}
