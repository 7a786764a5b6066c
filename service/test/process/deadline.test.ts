// withDeadline: the one bounded wait of shutdown, telemetry flushes and storage closes.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { withDeadline } from '../../src/process/deadline.ts';

const after = (ms: number, fail = false) =>
  new Promise<void>((resolve, reject) => setTimeout(() => (fail ? reject(new Error('x')) : resolve()), ms));

test('when the work settles in time, then true, whether it fulfilled or rejected', async () => {
  assert.equal(await withDeadline(after(5), 1_000), true);
  assert.equal(await withDeadline(after(5, true), 1_000), true);
});

test('when the deadline passes first, then false, without waiting for the work', async () => {
  const started = performance.now();
  assert.equal(await withDeadline(new Promise(() => {}), 50), false);
  assert.ok(performance.now() - started < 1_000);
});

test('when the work rejects after the deadline, then nothing is left unhandled', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  assert.equal(await withDeadline(after(30, true), 5), false);
  await after(60);
  assert.deepEqual(unhandled, []);
});
