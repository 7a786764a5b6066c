// Decides whether the tiers may talk to Redis right now: a small circuit breaker shared by all tiers.
//
// The connection's own status is not enough: a paused Redis (CLIENT PAUSE, a stuck primary) keeps
// its TCP connection "ready" while every command times out. So the first failed command trips the
// gate; the tiers answer from their fallback at once, and a background probe (a real write, as
// the limiter's script is one) closes the gate again only when Redis answers in time.
// rate-limiter-flexible's insuranceLimiter does the per-call fallback but would still send every
// request to a paused Redis and wait the full timeout each time, and hides which backend answered.
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
  let tripped = false;
  // Up only on a ready connection whose clock offset is known (start-up syncs it).
  let isUp = redis.isReady() && redis.clockSynced();
  let probing = false;
  let timer: NodeJS.Timeout | undefined;
  const listeners: ((up: boolean, reason: string) => void)[] = [];

  let closed = false;
  const set = (next: boolean, reason: string) => {
    // After close() the connection is being shut on purpose: that is not a backend switch.
    if (closed || next === isUp) return;
    isUp = next;
    for (const l of listeners) l(next, reason);
  };

  const probe = async () => {
    if (probing || !tripped || !redis.isReady()) return;
    probing = true;
    try {
      await redis.client.set(PROBE_KEY, '1', 'PX', 10_000);
      await redis.syncClock();
      tripped = false;
      clearInterval(timer);
      timer = undefined;
      set(true, 'redis answered the probe');
    } catch (err) {
      if (isTimeout(err)) redis.reset();
    } finally {
      probing = false;
    }
  };

  const trip = (reason: string) => {
    tripped = true;
    set(false, reason);
    timer ??= setInterval(probe, opts.probeIntervalMs).unref();
  };

  // Limiter commands carry deadlines in Redis's clock (redis-store.ts): measure it before use.
  redis.client.on('ready', () => {
    if (tripped) {
      void probe();
      return;
    }
    redis.syncClock().then(
      () => set(redis.isReady() && !tripped, 'redis connection ready'),
      () => trip('redis clock sync failed'),
    );
  });
  redis.client.on('close', () => set(false, 'redis connection closed'));

  // Connected but not yet synced: sync now, the `ready` event has passed.
  if (redis.isReady() && !isUp)
    redis.syncClock().then(
      () => set(redis.isReady() && !tripped, 'redis connection ready'),
      () => trip('redis clock sync failed'),
    );

  return {
    up: () => isUp,
    failed(err) {
      const timeout = isTimeout(err);
      // Commands already written to a paused Redis would run when it resumes: close the socket so
      // they are discarded and the fallback's count is the only one (no double counting).
      if (timeout) redis.reset();
      trip(
        timeout
          ? 'redis command timed out'
          : `redis error: ${err instanceof Error ? err.message : String(err)}`,
      );
    },
    onChange: (l) => {
      listeners.push(l);
    },
    close() {
      closed = true;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
