// The steps of one request through a mount point's tiers: count on Redis or in memory, or pass
// uncounted when Redis may have counted already; then decide, set the headers and record the outcome.
import { trace } from '@opentelemetry/api';
import type { NextFunction, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { problems } from '../errors/errors.ts';
import type { Metrics } from '../observability/metrics/metrics.ts';
import type { SecurityEvents } from '../observability/security-events.ts';
import type { RedisGate } from './redis-gate.ts';
import { LateExecutionError, type RedisTierStore, type TierWindow } from './redis-store.ts';
import type { TierSpec } from './tiers.ts';

type Counted = 'redis' | 'memory';

/** A tier as the request path uses it: built once, shared by every mount point that counts it. */
export interface Tier {
  readonly spec: TierSpec;
  /** The server span attribute that carries this tier's decision. */
  readonly attribute: string;
  readonly memory: RateLimiterMemory;
  // Metric children bound once: the hot path only increments.
  readonly allowed: Readonly<Record<Counted, { inc(): void }>>;
  readonly rejected: Readonly<Record<Counted, { inc(): void }>>;
  readonly unavailable: { inc(): void };
  /** What the headers say when nothing has been counted for this client in memory yet. */
  readonly fresh: RateLimiterRes;
  readonly redisOk: { observe(seconds: number): void };
  readonly redisTimeout: { observe(seconds: number): void };
  readonly redisError: { observe(seconds: number): void };
}

export function tierRuntime(spec: TierSpec, metrics: Metrics): Tier {
  const decisions = metrics.rateLimitDecisions;
  const duration = metrics.dbOperationDuration;
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
    allowed: {
      redis: decisions.labels(spec.name, 'allowed', 'redis'),
      memory: decisions.labels(spec.name, 'allowed', 'memory'),
    },
    rejected: {
      redis: decisions.labels(spec.name, 'rejected', 'redis'),
      memory: decisions.labels(spec.name, 'rejected', 'memory'),
    },
    unavailable: decisions.labels(spec.name, 'unavailable', 'redis'),
    fresh: new RateLimiterRes(spec.points, spec.durationSeconds * 1000, 0, true),
    redisOk: duration.labels({ ...labels, error_type: '' }),
    redisTimeout: duration.labels({ ...labels, error_type: 'timeout' }),
    redisError: duration.labels({ ...labels, error_type: 'error' }),
  };
}

/**
 * One command for all of `tiers`: a result per tier counted (fewer when one rejected, its result
 * last), or whether a failed command may still have counted (then the fallback must not count again).
 */
export async function countOnRedis(
  store: RedisTierStore,
  gate: RedisGate,
  key: string,
  tiers: readonly Tier[],
  windows: readonly TierWindow[],
): Promise<RateLimiterRes[] | 'not counted' | 'maybe counted'> {
  const start = performance.now();
  try {
    const results = await store.consume(key, windows);
    const seconds = (performance.now() - start) / 1000;
    // Each tier's series sees the one command (db_collection_name = its prefix).
    for (const tier of tiers) tier.redisOk.observe(seconds);
    return results;
  } catch (err) {
    // A store failure is never a verdict on the client.
    const seconds = (performance.now() - start) / 1000;
    const timedOut = err instanceof Error && /timed out/i.test(err.message);
    for (const tier of tiers) (timedOut ? tier.redisTimeout : tier.redisError).observe(seconds);
    gate.failed(err);
    return certainlyNotCounted(err) ? 'not counted' : 'maybe counted';
  }
}

// Failures where the command never reached Redis (not connected, socket not writable) or where the
// script refused to count (past its deadline): the fallback may count these requests.
function certainlyNotCounted(err: unknown): boolean {
  if (err instanceof LateExecutionError) return true;
  return err instanceof Error && /not ready|isn't writeable/.test(err.message);
}

/**
 * Counts in memory, tier by tier in order, stopping at the first rejection. With Redis configured a
 * fail-closed tier (admin) refuses instead: memory would let each instance count on its own.
 */
export async function countInMemory(
  res: Response,
  next: NextFunction,
  key: string,
  tiers: readonly Tier[],
  redisConfigured: boolean,
  securityEvents: SecurityEvents,
): Promise<void> {
  const results: RateLimiterRes[] = [];
  for (const tier of tiers) {
    if (redisConfigured && tier.spec.failClosed) return refuse(tier, 'memory', next);
    const result = await tier.memory.consume(key).catch((err: unknown) => {
      if (err instanceof RateLimiterRes) return err;
      throw err;
    });
    results.push(result);
    if (result.consumedPoints > tier.spec.points) break;
  }
  decide(res, next, tiers, results, 'memory', securityEvents);
}

/**
 * Redis may have counted this request (a reply that came too late, a socket closed after the write):
 * counting it in memory too could count it twice, so it passes uncounted (admin: closed). That is at
 * most the requests in flight when Redis failed.
 */
export async function passUncounted(
  res: Response,
  next: NextFunction,
  key: string,
  tiers: readonly Tier[],
): Promise<void> {
  for (const tier of tiers) {
    if (tier.spec.failClosed) return refuse(tier, 'redis', next);
    setHeaders(res, tier.spec, (await tier.memory.get(key)) ?? tier.fresh);
    tier.allowed.redis.inc();
    recordOutcome(tier, 'allowed', 'redis');
  }
  next();
}

/** Headers, metrics and span attributes for each result; the first tier over its limit answers 429. */
export function decide(
  res: Response,
  next: NextFunction,
  tiers: readonly Tier[],
  results: readonly RateLimiterRes[],
  backend: Counted,
  securityEvents: SecurityEvents,
): void {
  for (let i = 0; i < results.length; i++) {
    const tier = tiers[i] as Tier;
    const result = results[i] as RateLimiterRes;
    setHeaders(res, tier.spec, result);
    if (result.consumedPoints <= tier.spec.points) {
      tier.allowed[backend].inc();
      recordOutcome(tier, 'allowed', backend);
      continue;
    }
    tier.rejected[backend].inc();
    recordOutcome(tier, 'rejected', backend);
    const retryAfter = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    securityEvents.record('rate_limited', { tier: tier.spec.name, backend });
    next(problems.rateLimited(tier.spec.name, retryAfter));
    return;
  }
  next();
}

function refuse(tier: Tier, backend: Counted, next: NextFunction): void {
  tier.unavailable.inc();
  recordOutcome(tier, 'unavailable', backend);
  next(problems.rateLimiterUnavailable(UNAVAILABLE_RETRY_AFTER_SECONDS));
}

// The decision goes on the server span rather than a client span for the Redis round trip, whose
// duration and errors are in db_client_operation_duration_seconds.
function recordOutcome(tier: Tier, decision: 'allowed' | 'rejected' | 'unavailable', backend: Counted): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  span.setAttribute(tier.attribute, decision);
  span.setAttribute('rate_limit.backend', backend);
}

const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

// RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers): each tier adds its item to
// one field line; setHeader with a joined string, as res.append would write a line per item.
function setHeaders(res: Response, spec: TierSpec, result: RateLimiterRes): void {
  const item = `${spec.quotedName};r=${result.remainingPoints};t=${Math.ceil(result.msBeforeNext / 1000)}`;
  const policy = res.getHeader('RateLimit-Policy');
  const state = res.getHeader('RateLimit');
  res.setHeader('RateLimit-Policy', policy === undefined ? spec.policyItem : `${policy}, ${spec.policyItem}`);
  res.setHeader('RateLimit', state === undefined ? item : `${state}, ${item}`);
}
