// The tiers' Redis store: one script call counts a mount point's tiers (general and api for /api/v1),
// only before its deadline in Redis's clock, so a stalled Redis that wakes up counts nothing late. Why
// not RateLimiterRedis, why the deadline: docs/decisions.md, "Rate limiting: own Redis store, a gate...".
import type { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisConnection } from '../storage/redis.ts';

// KEYS: one per tier, in the order the tiers apply. ARGV[1]: the deadline (Redis clock, ms); then
// per tier: points to consume, window in seconds, the tier's limit. The fixed window of
// rate-limiter-flexible's own script (set NX with a TTL, incrby, pttl), for each key in turn; a tier
// that rejects stops the walk, so later tiers do not count a request that never reaches them, as
// when each tier was a middleware of its own.
const TIERS_INCR_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[1]) then return {-1} end
local out = {}
for i, key in ipairs(KEYS) do
  local seconds = ARGV[i * 3]
  redis.call('set', key, 0, 'EX', seconds, 'NX')
  local consumed = redis.call('incrby', key, ARGV[i * 3 - 1])
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, seconds)
    ttl = 1000 * seconds
  end
  out[#out + 1] = consumed
  out[#out + 1] = ttl
  if consumed > tonumber(ARGV[i * 3 + 1]) then break end
end
return out
`;
const COMMAND = 'rlTiersIncr';

export class LateExecutionError extends Error {
  constructor() {
    super('redis ran the rate-limit command after its deadline; it counted nothing');
    this.name = 'LateExecutionError';
  }
}

type TiersClient = Redis & {
  [COMMAND](keyCount: number, ...keysThenArgs: string[]): Promise<number[]>;
};

/** One tier's window, as the script counts it. */
export interface TierWindow {
  readonly keyPrefix: string;
  readonly points: number;
  readonly durationSeconds: number;
}

export interface RedisTierStoreOptions {
  readonly redis: RedisConnection;
  readonly timeoutMs: number;
}

export class RedisTierStore {
  readonly #redis: RedisConnection;
  readonly #timeoutMs: number;

  constructor(opts: RedisTierStoreOptions) {
    this.#redis = opts.redis;
    this.#timeoutMs = opts.timeoutMs;
    const client = opts.redis.client;
    // No numberOfKeys: the first argument of each call says how many keys follow.
    if (!(COMMAND in client)) client.defineCommand(COMMAND, { lua: TIERS_INCR_SCRIPT });
  }

  /**
   * Consumes one point of each tier for `key`, in one command. Returns a result per tier counted:
   * fewer than `tiers` when one rejected (its result is the last, with consumedPoints > points).
   */
  async consume(key: string, tiers: readonly TierWindow[]): Promise<RateLimiterRes[]> {
    if (!this.#redis.isReady()) throw new Error('Redis connection is not ready');
    const deadline = this.#redis.redisNow() + this.#timeoutMs;
    const keys = tiers.map((t) => `${t.keyPrefix}:${key}`);
    const args = [String(deadline)];
    for (const t of tiers) args.push('1', String(t.durationSeconds), String(t.points));
    this.#redis.coalesceWrites();
    const reply = await (this.#redis.client as TiersClient)[COMMAND](keys.length, ...keys, ...args);
    if (Number(reply[0]) < 0) throw new LateExecutionError();
    const out: RateLimiterRes[] = [];
    for (let i = 0; i < reply.length / 2; i++) {
      const tier = tiers[i] as TierWindow;
      const consumed = Number(reply[2 * i]);
      // As RateLimiterRedis shapes its result (lib/RateLimiterRedis.js, _getRateLimiterRes).
      out.push(
        new RateLimiterRes(
          Math.max(tier.points - consumed, 0),
          Number(reply[2 * i + 1]),
          consumed,
          consumed === 1,
        ),
      );
    }
    return out;
  }
}
