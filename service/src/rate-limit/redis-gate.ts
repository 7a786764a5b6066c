// Whether the tiers may talk to Redis now: a circuit breaker shared by all tiers, as a paused Redis
// keeps its connection "ready" while every command times out. Why not rate-limiter-flexible's
// insuranceLimiter: docs/decisions.md, "Rate limiting: own Redis store, a gate, a deadline".
import type { RedisConnection } from '../storage/redis.ts';

export const PROBE_KEY = 'rl:probe';

export interface RedisGate {
  /** True while limiter calls should go to Redis. */
  up(): boolean;
  /** A limiter call failed: trip, and drop the connection if the command may still run later. */
  failed(err: unknown): void;
  onChange(listener: (up: boolean, reason: string) => void): void;
  close(): void;
}

const isTimeout = (err: unknown) => err instanceof Error && /timed out/i.test(err.message);

export function createRedisGate(redis: RedisConnection, opts: { probeIntervalMs: number }): RedisGate {
  return new Gate(redis, opts.probeIntervalMs);
}

/** Tripped by a failed command, closed again only by a probe (a real write, as the limiter's script is). */
class Gate implements RedisGate {
  readonly #redis: RedisConnection;
  readonly #probeIntervalMs: number;
  readonly #listeners: ((up: boolean, reason: string) => void)[] = [];
  #tripped = false;
  // Up only on a ready connection whose clock offset is known (start-up syncs it).
  #isUp: boolean;
  #probing = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(redis: RedisConnection, probeIntervalMs: number) {
    this.#redis = redis;
    this.#probeIntervalMs = probeIntervalMs;
    this.#isUp = redis.isReady() && redis.clockSynced();
    // Limiter commands carry deadlines in Redis's clock (redis-store.ts): measure it before use.
    redis.client.on('ready', () => {
      if (this.#tripped) void this.#probe();
      else this.#syncClock();
    });
    redis.client.on('close', () => this.#set(false, 'redis connection closed'));
    // Connected but not yet synced: sync now, the `ready` event has passed.
    if (redis.isReady() && !this.#isUp) this.#syncClock();
  }

  up(): boolean {
    return this.#isUp;
  }

  failed(err: unknown): void {
    const timeout = isTimeout(err);
    // Commands already written to a paused Redis would run when it resumes: close the socket so
    // they are discarded and the fallback's count is the only one (no double counting).
    if (timeout) this.#redis.reset();
    this.#trip(
      timeout
        ? 'redis command timed out'
        : `redis error: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  onChange(listener: (up: boolean, reason: string) => void): void {
    this.#listeners.push(listener);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #set(next: boolean, reason: string): void {
    // After close() the connection is being shut on purpose: that is not a backend switch.
    if (this.#closed || next === this.#isUp) return;
    this.#isUp = next;
    for (const listener of this.#listeners) listener(next, reason);
  }

  #trip(reason: string): void {
    this.#tripped = true;
    this.#set(false, reason);
    this.#timer ??= setInterval(() => void this.#probe(), this.#probeIntervalMs).unref();
  }

  #syncClock(): void {
    this.#redis.syncClock().then(
      () => this.#set(this.#redis.isReady() && !this.#tripped, 'redis connection ready'),
      () => this.#trip('redis clock sync failed'),
    );
  }

  async #probe(): Promise<void> {
    if (this.#probing || !this.#tripped || !this.#redis.isReady()) return;
    this.#probing = true;
    try {
      await this.#redis.client.set(PROBE_KEY, '1', 'PX', 10_000);
      await this.#redis.syncClock();
      this.#tripped = false;
      clearInterval(this.#timer);
      this.#timer = undefined;
      this.#set(true, 'redis answered the probe');
    } catch (err) {
      if (isTimeout(err)) this.#redis.reset();
    } finally {
      this.#probing = false;
    }
  }
}
