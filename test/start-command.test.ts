// The README's run command, as a user types it: `npm start` serves the API on embedded defaults.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, killGroupAfter, waitForLine } from './support/process.ts';

test('when `npm start` runs with no Redis, collector or Sentry configured, then it serves the items API', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: join(import.meta.dirname, '..'),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_PATH: join(dir, 'items.db'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  killGroupAfter(t, child);
  const lines: string[] = [];
  child.stdout.on('data', (c: Buffer) => lines.push(...c.toString('utf8').split('\n')));
  await waitForLine(child, (l) => l.includes('service listening'), 30_000);

  const health = await fetch(`http://127.0.0.1:${port}/api/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const list = await fetch(`http://127.0.0.1:${port}/api/v1/items`);
  assert.equal(list.status, 200);
  assert.equal(((await list.json()) as { total: number }).total, 0);
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.match(await metrics.text(), /service_build_info/);

  // Ctrl-C in a terminal signals the whole process group, npm included.
  const stopped = waitForLine(child, (l) => l.includes('shutting down'), 10_000);
  process.kill(-(child.pid ?? 0), 'SIGINT');
  // One line each says what runs on embedded defaults.
  for (const msg of ['rate limiter runs in memory', 'telemetry export off', 'error reporting off'])
    assert.equal(lines.filter((l) => l.includes(msg)).length, 1, msg);
  await stopped;
  await once(child, 'exit');
});
