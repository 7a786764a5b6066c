// The Redis store of a tier: rate-limiter-flexible's RateLimiterRedis with one change, a deadline
// in its Lua script, so a command that Redis runs after the limiter stopped waiting counts nothing.
//
// Why: when Redis stalls (SIGSTOP, a long blocking command, a VM pause), the commands already
// written to its socket stay in the kernel buffer and run when it wakes, long after the client
// timed out and the tier moved to its fallback. Measured without the deadline: one extra count per
// request in flight at the stall, landing in Redis seconds later. With it, Redis counts only what
// it ran in time, and the limiter treats a refused command (LateExecutionError) as not counted.
// (CLIENT PAUSE is different: Redis drops a paused client's pending command when the connection
// closes, which RedisConnection.reset() does.)
// rate-limiter-flexible's `customIncrTtlLuaScript` cannot take an extra argument, hence the
// subclass; `_upsert` is its store hook (lib/RateLimiterRedis.js), pinned by the fault tests.
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { RedisConnection } from '../redis.ts';

// Same fixed window as the library's script, after a deadline check against Redis's own clock.
const DEADLINE_INCR_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(ARGV[3]) then return {-1, 0} end
redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local consumed = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {consumed, ttl}
`;
const COMMAND = 'rlDeadlineIncr';

export class LateExecutionError extends Error {
  constructor() {
    super('redis ran the rate-limit command after its deadline; it counted nothing');
    this.name = 'LateExecutionError';
  }
}

type DeadlineClient = Redis & {
  [COMMAND](key: string, points: string, seconds: string, deadlineMs: string): Promise<[number, number]>;
};

export interface DeadlineStoreOptions {
  readonly redis: RedisConnection;
  readonly points: number;
  readonly durationSeconds: number;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
}

export class DeadlineRedisLimiter extends RateLimiterRedis {
  readonly #redis: RedisConnection;
  readonly #timeoutMs: number;

  constructor(opts: DeadlineStoreOptions) {
    super({
      storeClient: opts.redis.client,
      points: opts.points,
      duration: opts.durationSeconds,
      keyPrefix: opts.keyPrefix,
      rejectIfRedisNotReady: true,
    });
    this.#redis = opts.redis;
    this.#timeoutMs = opts.timeoutMs;
    const client = opts.redis.client;
    if (!(COMMAND in client)) client.defineCommand(COMMAND, { numberOfKeys: 1, lua: DEADLINE_INCR_SCRIPT });
  }

  // Overrides RateLimiterRedis#_upsert for consume(); other operations are not used by the tiers.
  async _upsert(rlKey: string, points: number, msDuration: number): Promise<[number, number]> {
    if (!this.#redis.isReady()) throw new Error('Redis connection is not ready');
    const deadline = this.#redis.redisNow() + this.#timeoutMs;
    const client = this.#redis.client as DeadlineClient;
    const result = await client[COMMAND](
      rlKey,
      String(points),
      String(Math.floor(msDuration / 1000)),
      String(deadline),
    );
    if (Number(result[0]) < 0) throw new LateExecutionError();
    return result;
  }
}
