// The ioredis connection the rate limiter and readiness use, configured to fail fast, never to queue.
// @see https://github.com/redis/ioredis#connection-events
//
// ioredis defaults suit a job queue, not a request path: with them a command during an outage waits
// about 70 s (offline queue + 20 retries). Here every command either runs on a ready connection
// within `commandTimeoutMs` or fails at once, and the caller (the rate limiter) falls back.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';

export interface RedisOptions {
  readonly url: string;
  /** Upper bound for one command; the rate-limit fault budget is built on it. */
  readonly commandTimeoutMs: number;
  readonly logger: Logger;
}

export interface RedisConnection {
  readonly client: Redis;
  isReady(): boolean;
  /**
   * Drop the socket and reconnect. Used after a command timed out: a paused Redis would still run
   * the commands sitting in the socket once it resumes, counting requests that were already
   * counted by the fallback. Closing the connection discards them (verified against redis 7).
   */
  reset(): void;
  /** True once ready; false after `ms` or on the first connection error (Redis absent). Never rejects. */
  waitReady(ms: number): Promise<boolean>;
  /** True once syncClock() has succeeded on the current connection. */
  clockSynced(): boolean;
  /** Redis's clock now, in ms, from the offset measured by syncClock(). */
  redisNow(): number;
  /** Measures the offset between this host's clock and Redis's (TIME), halving the round trip. */
  syncClock(): Promise<void>;
  /**
   * Holds the connection's socket writes until the end of the current event-loop turn: the commands
   * of every request handled in this turn then leave in one write instead of one each.
   */
  coalesceWrites(): void;
  /** Round-trip latency in ms, or throws. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

export function createRedis(opts: RedisOptions): RedisConnection {
  const log = opts.logger.child({ component: 'redis' });
  const client = new Redis(opts.url, {
    enableOfflineQueue: false,
    commandTimeout: opts.commandTimeoutMs,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    connectTimeout: Math.max(1_000, opts.commandTimeoutMs * 4),
    // Reconnect quickly and keep trying: the tiers return to Redis as soon as it is back.
    retryStrategy: (times) => Math.min(100 * times, 1_000),
    connectionName: 'items-api-rate-limit',
    lazyConnect: false,
  });
  let closing = false;
  let corked = false;
  let clockOffsetMs = 0;
  let synced = false;
  let lastError = '';
  // Without a listener ioredis prints every failed reconnect; log each distinct error once instead.
  client.on('error', (err: Error) => {
    if (err.message !== lastError) log.warn({ err: { message: err.message } }, 'redis error');
    lastError = err.message;
  });
  client.on('ready', () => {
    lastError = '';
  });
  client.on('close', () => {
    synced = false;
  });

  return {
    client,
    isReady: () => client.status === 'ready',
    reset() {
      if (!closing) client.disconnect(true);
    },
    async waitReady(ms) {
      if (client.status === 'ready') return true;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), ms);
      try {
        await once(client, 'ready', { signal: ac.signal });
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    clockSynced: () => synced,
    redisNow: () => Date.now() + clockOffsetMs,
    async syncClock() {
      const before = Date.now();
      const [seconds, micros] = (await client.time()) as [string | number, string | number];
      const after = Date.now();
      clockOffsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (before + after) / 2;
      synced = true;
    },
    // Why: each write to Redis is a system call that also wakes the Redis process, and it was the
    // largest single cost of a rate-limited request (docs/performance.md). Under load a turn of
    // the event loop handles several requests; corking the socket until setImmediate
    // (which runs right after the turn's I/O callbacks, so no command waits for a later turn) sends
    // all their commands with one writev. ioredis's own enableAutoPipelining batches the same way,
    // but it sends the batch from its setImmediate callback, where the ioredis instrumentation
    // parents every command's span to the request that opened the batch; corking leaves each
    // command sent, timed and traced inside its own request.
    coalesceWrites() {
      if (corked || client.status !== 'ready') return;
      const stream = client.stream;
      corked = true;
      stream.cork();
      setImmediate(() => {
        corked = false;
        stream.uncork();
      });
    },
    async ping() {
      const start = performance.now();
      await client.ping();
      return performance.now() - start;
    },
    async close() {
      closing = true;
      if (client.status === 'ready') {
        await Promise.race([client.quit().catch(() => {}), new Promise((r) => setTimeout(r, 500).unref())]);
      }
      client.disconnect(false);
    },
  };
}
