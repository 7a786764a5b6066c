// The ioredis connection the rate limiter and readiness use, configured to fail fast, never to queue.
// @see https://github.com/redis/ioredis#connection-events
//
// ioredis defaults suit a job queue, not a request path: with them a command during an outage waits
// about 70 s (offline queue + 20 retries). Here every command either runs on a ready connection
// within `commandTimeoutMs` or fails at once, and the caller (the rate limiter) falls back.
import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.ts';
import { withDeadline } from '../process/deadline.ts';

// A QUIT Redis does not answer (paused, network cut) must not hold shutdown.
const QUIT_TIMEOUT_MS = 500;

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
  const client = connect(opts);
  logDistinctErrors(client, opts.logger.child({ component: 'redis' }));
  let closing = false;
  return {
    client,
    isReady: () => client.status === 'ready',
    reset() {
      if (!closing) client.disconnect(true);
    },
    async waitReady(ms) {
      if (client.status === 'ready') return true;
      try {
        await once(client, 'ready', { signal: AbortSignal.timeout(ms) });
        return true;
      } catch {
        return false;
      }
    },
    ...redisClock(client),
    coalesceWrites: writeCoalescer(client),
    async ping() {
      const start = performance.now();
      await client.ping();
      return performance.now() - start;
    },
    async close() {
      closing = true;
      if (client.status === 'ready') await withDeadline(client.quit(), QUIT_TIMEOUT_MS);
      client.disconnect(false);
    },
  };
}

function connect(opts: RedisOptions): Redis {
  return new Redis(opts.url, {
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
}

// Without a listener ioredis prints every failed reconnect; log each distinct error once instead.
function logDistinctErrors(client: Redis, log: Logger): void {
  let lastError = '';
  client.on('error', (err: Error) => {
    if (err.message !== lastError) log.warn({ err: { message: err.message } }, 'redis error');
    lastError = err.message;
  });
  client.on('ready', () => {
    lastError = '';
  });
}

function redisClock(client: Redis): Pick<RedisConnection, 'clockSynced' | 'redisNow' | 'syncClock'> {
  let clockOffsetMs = 0;
  let synced = false;
  client.on('close', () => {
    synced = false;
  });
  return {
    clockSynced: () => synced,
    redisNow: () => Date.now() + clockOffsetMs,
    async syncClock() {
      const before = Date.now();
      const [seconds, micros] = (await client.time()) as [string | number, string | number];
      const after = Date.now();
      clockOffsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (before + after) / 2;
      synced = true;
    },
  };
}

// Each write wakes Redis and was the largest single cost of a rate-limited request: one turn's commands
// leave in one writev, each still traced in its own request (docs/performance.md, "What was changed to
// get there", which also says why not ioredis's enableAutoPipelining).
function writeCoalescer(client: Redis): () => void {
  let corked = false;
  return () => {
    if (corked || client.status !== 'ready') return;
    const stream = client.stream;
    corked = true;
    stream.cork();
    // setImmediate runs right after this turn's I/O callbacks: no command waits for a later turn.
    setImmediate(() => {
      corked = false;
      stream.uncork();
    });
  };
}
