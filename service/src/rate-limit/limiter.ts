// Tiered rate limiting: counters in Redis (shared by every instance), an in-memory fallback for the
// general and api tiers, fail-closed for admin. @see https://github.com/animir/node-rate-limiter-flexible
//
// Fault budget (docs/deployment-security-checklist.md, "Rate limiting under Redis faults"):
// a Redis fault delays a request by at most RATE_LIMIT_REDIS_TIMEOUT_MS (default 150 ms), once:
//  - Redis absent or killed: the connection is not ready, the gate is down, no Redis call is made
//    (0 ms); commands in flight when it dies fail as soon as the socket closes.
//  - Redis paused (accepts, never replies): the first calls wait the command timeout, trip the gate,
//    and every later request skips Redis (0 ms) until a probe succeeds.
//  An /api/v1 request's two tiers share one command; an admin request makes two (general, then
//  admin), and the second sees the tripped gate, so the wait is not doubled. Measured on the
//  shared 2-core test box (test/hardening/redis-faults.test.ts): slowest request 155-171 ms with
//  Redis paused or frozen, p99 7-35 ms, no 5xx, no false 429.
import { trace } from '@opentelemetry/api';
import type { NextFunction, RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { HttpProblem } from '../errors/errors.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics/metrics.ts';
import type { SecurityEvents } from '../observability/security-events.ts';
import type { RedisConnection } from '../storage/redis.ts';
import { createRedisGate, type RedisGate } from './redis-gate.ts';
import { LateExecutionError, RedisTierStore } from './redis-store.ts';
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

const UNAVAILABLE_RETRY_AFTER_SECONDS = '5';
// The limiter's outcome on the server span, instead of a client span for its Redis round trip: the
// decision per tier (`rate_limit.<tier>`: allowed, rejected, unavailable) and where it was counted.
// The round trip's duration and errors are in db_client_operation_duration_seconds.
const ATTR_BACKEND = 'rate_limit.backend';
type Decision = 'allowed' | 'rejected' | 'unavailable';

function recordOutcome(tier: { readonly attribute: string }, decision: Decision, backend: string): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  span.setAttribute(tier.attribute, decision);
  span.setAttribute(ATTR_BACKEND, backend);
}
const KEY_LOCAL = 'rateLimitKey';
const COUNTED_LOCAL = 'rateLimitTiersCounted';

const tooManyRequests = (tier: TierName, retryAfterSeconds: number) =>
  new HttpProblem(429, {
    type: 'rate-limited',
    title: 'Too Many Requests',
    detail: `The ${tier} rate limit is exhausted; retry after ${retryAfterSeconds} s.`,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

const limiterUnavailable = () =>
  new HttpProblem(503, {
    type: 'rate-limiter-unavailable',
    title: 'Service Unavailable',
    detail: 'Admin routes are closed while the shared rate-limit store is unreachable.',
    headers: { 'Retry-After': UNAVAILABLE_RETRY_AFTER_SECONDS },
  });

export function createRateLimits(deps: RateLimitDeps): RateLimits {
  const specs = tierSpecs(deps.limits);
  const log = deps.logger.child({ component: 'rate-limit' });
  const redis = deps.redis;
  const gate: RedisGate | undefined = redis
    ? createRedisGate(redis, { probeIntervalMs: deps.probeIntervalMs ?? 500 })
    : undefined;

  const backendOf = (spec: TierSpec): Backend => {
    if (!gate) return 'memory';
    if (gate.up()) return 'redis';
    return spec.failClosed ? 'unavailable' : 'memory';
  };

  const current = {} as Record<TierName, Backend>;
  const publish = (spec: TierSpec, reason: string | undefined) => {
    const next = backendOf(spec);
    const prev = current[spec.name];
    if (prev === next) return;
    current[spec.name] = next;
    for (const b of ['redis', 'memory', 'unavailable'] as const)
      deps.metrics.rateLimitBackend.set({ tier: spec.name, backend: b }, b === next ? 1 : 0);
    deps.metrics.rateLimitDegraded.set({ tier: spec.name }, gate !== undefined && next !== 'redis' ? 1 : 0);
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

  // Per tier, built once and shared by every mount point that counts the tier.
  const runtime = (spec: TierSpec) => {
    const d = deps.metrics.rateLimitDecisions;
    const h = deps.metrics.dbOperationDuration;
    const labels = {
      db_system_name: 'redis',
      db_operation_name: 'EVALSHA',
      db_collection_name: spec.keyPrefix,
    };
    return {
      spec,
      attribute: `rate_limit.${spec.name}`,
      memory: new RateLimiterMemory({
        points: spec.points,
        duration: spec.durationSeconds,
        keyPrefix: spec.keyPrefix,
      }),
      // Metric children bound once: the hot path only increments.
      allowed: {
        redis: d.labels(spec.name, 'allowed', 'redis'),
        memory: d.labels(spec.name, 'allowed', 'memory'),
      },
      rejected: {
        redis: d.labels(spec.name, 'rejected', 'redis'),
        memory: d.labels(spec.name, 'rejected', 'memory'),
      },
      unavailable: d.labels(spec.name, 'unavailable', 'redis'),
      // What the headers say when nothing has been counted for this client in memory yet.
      fresh: new RateLimiterRes(spec.points, spec.durationSeconds * 1000, 0, true),
      redisOk: h.labels({ ...labels, error_type: '' }),
      redisTimeout: h.labels({ ...labels, error_type: 'timeout' }),
      redisError: h.labels({ ...labels, error_type: 'error' }),
    };
  };
  type Tier = ReturnType<typeof runtime>;
  const tiers = {} as Record<TierName, Tier>;
  for (const name of TIER_NAMES) tiers[name] = runtime(specs[name]);
  const store = redis ? new RedisTierStore({ redis, timeoutMs: deps.redisTimeoutMs }) : undefined;

  /**
   * Middleware that counts the named tiers, in order, once per request: a tier an earlier mount point
   * already counted is skipped. On Redis all of them go in one command (redis-store.ts).
   */
  const mount = (...names: TierName[]): RequestHandler => {
    const group = names.map((n) => tiers[n]);
    const windows = group.map((t) => t.spec);
    return async (req, res, next) => {
      const counted = countedTiers(res);
      const todo = group.every((t) => !counted.has(t.spec.name))
        ? group
        : group.filter((t) => !counted.has(t.spec.name));
      if (todo.length === 0) {
        next();
        return;
      }
      for (const t of todo) counted.add(t.spec.name);
      const key = keyFor(req, res, deps.keyOf);
      // A result per tier counted; fewer than `todo` when a tier rejected (its result is the last).
      let results: RateLimiterRes[] | undefined;
      const backend: 'redis' | 'memory' = store && gate?.up() ? 'redis' : 'memory';

      if (store && gate && backend === 'redis') {
        const start = performance.now();
        try {
          results = await store.consume(key, todo === group ? windows : todo.map((t) => t.spec));
          const s = (performance.now() - start) / 1000;
          // One command for all the tiers: each tier's series sees it (db_collection_name = its prefix).
          for (const t of todo) t.redisOk.observe(s);
        } catch (err) {
          // A store failure is never a verdict on the client.
          const s = (performance.now() - start) / 1000;
          const timedOut = err instanceof Error && /timed out/i.test(err.message);
          for (const t of todo) (timedOut ? t.redisTimeout : t.redisError).observe(s);
          gate.failed(err);
          if (!certainlyNotCounted(err)) {
            // The command may have run in Redis (a reply that came too late, a socket closed after
            // the write): counting it in memory too could count this request twice. Let it pass
            // uncounted (admin: closed); at most the requests in flight when Redis failed.
            for (const t of todo) {
              if (t.spec.failClosed) {
                t.unavailable.inc();
                recordOutcome(t, 'unavailable', 'redis');
                next(limiterUnavailable());
                return;
              }
              setHeaders(res, t.spec, (await t.memory.get(key)) ?? t.fresh);
              t.allowed.redis.inc();
              recordOutcome(t, 'allowed', 'redis');
            }
            next();
            return;
          }
        }
      }

      if (results === undefined) {
        // Memory, tier by tier in order, stopping at the first rejection.
        results = [];
        for (const t of todo) {
          if (store && t.spec.failClosed) {
            t.unavailable.inc();
            recordOutcome(t, 'unavailable', 'memory');
            next(limiterUnavailable());
            return;
          }
          const r = await t.memory.consume(key).catch((err: unknown) => {
            if (err instanceof RateLimiterRes) return err;
            throw err;
          });
          results.push(r);
          if (r.consumedPoints > t.spec.points) break;
        }
        return decide(res, next, todo, results, 'memory');
      }
      return decide(res, next, todo, results, backend);
    };
  };

  const decide = (
    res: Response,
    next: NextFunction,
    todo: readonly Tier[],
    results: readonly RateLimiterRes[],
    backend: 'redis' | 'memory',
  ) => {
    for (let i = 0; i < results.length; i++) {
      const t = todo[i] as Tier;
      const r = results[i] as RateLimiterRes;
      setHeaders(res, t.spec, r);
      if (r.consumedPoints <= t.spec.points) {
        t.allowed[backend].inc();
        recordOutcome(t, 'allowed', backend);
        continue;
      }
      t.rejected[backend].inc();
      recordOutcome(t, 'rejected', backend);
      const retryAfter = Math.max(1, Math.ceil(r.msBeforeNext / 1000));
      deps.securityEvents.record('rate_limited', { tier: t.spec.name, backend });
      next(tooManyRequests(t.spec.name, retryAfter));
      return;
    }
    next();
  };

  return {
    tier: {
      general: mount('general'),
      api: mount('general', 'api'),
      admin: mount('admin'),
    },
    store: redis ? 'redis' : 'memory',
    status() {
      const out = {} as Record<TierName, TierStatus>;
      for (const name of TIER_NAMES) {
        const spec = specs[name];
        const backend = backendOf(spec);
        out[name] = {
          backend,
          degraded: gate !== undefined && backend !== 'redis',
          points: spec.points,
          durationSeconds: spec.durationSeconds,
        };
      }
      return out;
    },
    close() {
      gate?.close();
    },
  };
}

// Failures where the command never reached Redis (not connected, socket not writable) or where the
// script refused to count (past its deadline): the fallback may count these requests.
function certainlyNotCounted(err: unknown): boolean {
  if (err instanceof LateExecutionError) return true;
  return err instanceof Error && /not ready|isn't writeable/.test(err.message);
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

// RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers, Structured Field lists):
// each tier that applies adds its item, so /api/v1 responses carry both "general" and "api" in one
// field line each. setHeader with a joined string rather than res.append (arrays, two lines).
function setHeaders(res: Response, spec: TierSpec, r: RateLimiterRes): void {
  const item = `${spec.quotedName};r=${r.remainingPoints};t=${Math.ceil(r.msBeforeNext / 1000)}`;
  const policy = res.getHeader('RateLimit-Policy');
  const state = res.getHeader('RateLimit');
  res.setHeader('RateLimit-Policy', policy === undefined ? spec.policyItem : `${policy}, ${spec.policyItem}`);
  res.setHeader('RateLimit', state === undefined ? item : `${state}, ${item}`);
}
