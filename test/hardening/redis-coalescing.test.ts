// The rate limiter's Redis connection sends the commands of one event-loop turn in one socket write.
import { strict as assert } from 'node:assert';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { createRedis } from '../../service/src/storage/redis.ts';
import { startRedis } from '../support/redis-server.ts';

type Writes = Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };

test('when several requests send a command in one event-loop turn, then the commands leave in one socket write and each gets its own reply', async (t) => {
  const server = await startRedis(t);
  const redis = createRedis({ url: server.url, commandTimeoutMs: 1_000, logger: pino({ level: 'silent' }) });
  t.after(() => redis.close());
  assert.ok(await redis.waitReady(5_000), 'connected');

  const stream = redis.client.stream as Writes;
  const writes: number[] = [];
  const write = stream._write.bind(stream);
  const writev = stream._writev.bind(stream);
  stream._write = (...a) => {
    writes.push(1);
    write(...a);
  };
  stream._writev = (...a) => {
    writes.push((a[0] as unknown[]).length);
    writev(...a);
  };

  // Ten "requests" in one turn, each coalescing and then sending its own command.
  const replies = await Promise.all(
    Array.from({ length: 10 }, (_, i) => {
      redis.coalesceWrites();
      return redis.client.incrby('coalesce:test', i + 1);
    }),
  );
  assert.deepEqual(writes, [10], 'ten commands, one writev');
  // INCRBY replies are running totals in send order: every command got its own reply.
  assert.deepEqual(
    replies,
    Array.from({ length: 10 }, (_, i) => ((i + 1) * (i + 2)) / 2),
  );

  // Without coalescing (a command outside any batch) each command is its own write.
  writes.length = 0;
  await redis.client.incrby('coalesce:test', 1);
  await redis.client.incrby('coalesce:test', 1);
  assert.deepEqual(writes, [1, 1]);
});
