// Tiered rate limiting: counters in Redis shared by every instance, an in-memory fallback for general
// and api, fail-closed for admin. A Redis fault delays a request by at most RATE_LIMIT_REDIS_TIMEOUT_MS,
// once: docs/decisions.md, "Rate limiting: own Redis store, a gate, a deadline".
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics/metrics.ts';
import type { SecurityEvents } from '../observability/security-events.ts';
import type { RedisConnection } from '../storage/redis.ts';
import { countInMemory, countOnRedis, decide, passUncounted, type Tier, tierRuntime } from './counting.ts';
import { createRedisGate, type RedisGate } from './redis-gate.ts';
import { RedisTierStore } from './redis-store.ts';
import { type Backend, TIER_NAMES, type TierName, type TierSpec, tierSpecs } from './tiers.ts';

export interface RateLimitDeps {
  readonly limits: Parameters<typeof tierSpecs>[0];
  readonly redis: RedisConnection | undefined;
  /** RATE_LIMIT_REDIS_TIMEOUT_MS: also the deadline after which Redis must not count a command. */
  readonly redisTimeoutMs: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly securityEvents: SecurityEvents;
  /** Derives the client key; called once per request and cached in res.locals. */
  readonly keyOf: (req: Parameters<RequestHandler>[0]) => string;
  /** How often a tripped gate probes Redis. */
  readonly probeIntervalMs?: number;
}

export interface TierStatus {
  readonly backend: Backend;
  readonly degraded: boolean;
  readonly points: number;
  readonly durationSeconds: number;
}

export interface RateLimits {
  /**
   * Middleware per mount point: `general` for every limited route, `api` for /api/v1 (it counts the
   * general tier too, in the same Redis command, and the `general` middleware then skips it),
   * `admin` for admin routes.
   */
  readonly tier: Readonly<Record<TierName, RequestHandler>>;
  /** 'redis' when REDIS_URL is set, else 'memory'. */
  readonly store: 'redis' | 'memory';
  status(): Record<TierName, TierStatus>;
  close(): void;
}

const KEY_LOCAL = 'rateLimitKey';
const COUNTED_LOCAL = 'rateLimitTiersCounted';

export function createRateLimits(deps: RateLimitDeps): RateLimits {
  const specs = tierSpecs(deps.limits);
  const redis = deps.redis;
  const gate = redis ? createRedisGate(redis, { probeIntervalMs: deps.probeIntervalMs ?? 500 }) : undefined;
  publishBackends(specs, gate, deps.metrics, deps.logger.child({ component: 'rate-limit' }));
  const tiers = {} as Record<TierName, Tier>;
  for (const name of TIER_NAMES) tiers[name] = tierRuntime(specs[name], deps.metrics);
  const store = redis ? new RedisTierStore({ redis, timeoutMs: deps.redisTimeoutMs }) : undefined;
  const mount = mounter(deps, tiers, store && gate ? { store, gate } : undefined);
  return {
    tier: {
      general: mount('general'),
      api: mount('general', 'api'),
      admin: mount('admin'),
    },
    store: redis ? 'redis' : 'memory',
    status: () => statusOf(specs, gate),
    close() {
      gate?.close();
    },
  };
}

function backendOf(spec: TierSpec, gate: RedisGate | undefined): Backend {
  if (!gate) return 'memory';
  if (gate.up()) return 'redis';
  return spec.failClosed ? 'unavailable' : 'memory';
}

function statusOf(specs: Readonly<Record<TierName, TierSpec>>, gate: RedisGate | undefined) {
  const out = {} as Record<TierName, TierStatus>;
  for (const name of TIER_NAMES) {
    const spec = specs[name];
    const backend = backendOf(spec, gate);
    out[name] = {
      backend,
      degraded: gate !== undefined && backend !== 'redis',
      points: spec.points,
      durationSeconds: spec.durationSeconds,
    };
  }
  return out;
}

/** Each tier's backend in the gauges and the log, now and on every switch of the gate. */
function publishBackends(
  specs: Readonly<Record<TierName, TierSpec>>,
  gate: RedisGate | undefined,
  metrics: Metrics,
  log: Logger,
): void {
  const current = {} as Record<TierName, Backend>;
  const publish = (spec: TierSpec, reason: string | undefined) => {
    const next = backendOf(spec, gate);
    const prev = current[spec.name];
    if (prev === next) return;
    current[spec.name] = next;
    for (const backend of ['redis', 'memory', 'unavailable'] as const)
      metrics.rateLimitBackend.set({ tier: spec.name, backend }, backend === next ? 1 : 0);
    metrics.rateLimitDegraded.set({ tier: spec.name }, gate !== undefined && next !== 'redis' ? 1 : 0);
    // One line per switch and tier: operators grep for it, alerts can count it.
    if (prev === undefined) log.info({ tier: spec.name, backend: next }, 'rate limiter backend');
    else log.warn({ tier: spec.name, from: prev, to: next, reason }, 'rate limiter backend switched');
  };
  for (const name of TIER_NAMES) publish(specs[name], undefined);
  if (!gate)
    log.info({ tiers: TIER_NAMES }, 'rate limiter runs in memory: no REDIS_URL, counters are per instance');
  gate?.onChange((_up, reason) => {
    for (const name of TIER_NAMES) publish(specs[name], reason);
  });
}

/**
 * Middleware per mount point that counts the named tiers, in order, once per request: a tier an
 * earlier mount point already counted is skipped. On Redis all of them go in one command.
 */
function mounter(
  deps: RateLimitDeps,
  tiers: Readonly<Record<TierName, Tier>>,
  redis: { readonly store: RedisTierStore; readonly gate: RedisGate } | undefined,
) {
  return (...names: TierName[]): RequestHandler => {
    const group = names.map((name) => tiers[name]);
    const windows = group.map((tier) => tier.spec);
    return async (req, res, next) => {
      const todo = uncounted(group, res);
      if (todo.length === 0) return next();
      const key = keyFor(req, res, deps.keyOf);
      if (redis?.gate.up()) {
        const outcome = await countOnRedis(
          redis.store,
          redis.gate,
          key,
          todo,
          todo === group ? windows : todo.map((tier) => tier.spec),
        );
        if (outcome === 'maybe counted') return passUncounted(res, next, key, todo);
        if (outcome !== 'not counted') return decide(res, next, todo, outcome, 'redis', deps.securityEvents);
      }
      return countInMemory(res, next, key, todo, redis !== undefined, deps.securityEvents);
    };
  };
}

/** The tiers of `group` no earlier mount point counted for this request, now marked as counted. */
function uncounted(group: readonly Tier[], res: Response): readonly Tier[] {
  const counted = countedTiers(res);
  const todo = group.every((tier) => !counted.has(tier.spec.name))
    ? group
    : group.filter((tier) => !counted.has(tier.spec.name));
  for (const tier of todo) counted.add(tier.spec.name);
  return todo;
}

function countedTiers(res: Response): Set<TierName> {
  let counted = res.locals[COUNTED_LOCAL] as Set<TierName> | undefined;
  if (counted === undefined) {
    counted = new Set();
    res.locals[COUNTED_LOCAL] = counted;
  }
  return counted;
}

function keyFor(req: Parameters<RequestHandler>[0], res: Response, keyOf: RateLimitDeps['keyOf']): string {
  const cached = res.locals[KEY_LOCAL] as string | undefined;
  if (cached !== undefined) return cached;
  const key = keyOf(req);
  res.locals[KEY_LOCAL] = key;
  return key;
}
