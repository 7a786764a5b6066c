// The README's run command, as a user types it: `npm start` serves the API on embedded defaults.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  await waitForLine(child, (l) => l.includes('service listening'), 30_000);

  const health = await fetch(`http://127.0.0.1:${port}/api/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  const list = await fetch(`http://127.0.0.1:${port}/api/v1/items`);
  assert.equal(list.status, 200);
  assert.equal(((await list.json()) as { total: number }).total, 0);
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.match(await metrics.text(), /service_build_info/);
  // Nothing from Node itself either: no deprecation warning (module hooks), no note on a missing .env.
  assert.equal(stderr, '', 'the start wrote to stderr');

  // Ctrl-C in a terminal signals the whole process group, npm included.
  const stopped = waitForLine(child, (l) => l.includes('shutting down'), 10_000);
  process.kill(-(child.pid ?? 0), 'SIGINT');
  // One line each says what runs on embedded defaults.
  for (const msg of ['rate limiter runs in memory', 'telemetry export off', 'error reporting off'])
    assert.equal(lines.filter((l) => l.includes(msg)).length, 1, msg);
  await stopped;
  await once(child, 'exit');
});

test('when `.env.example` is copied to `.env` and `npm start` runs, then the service loads it and starts', async (t) => {
  // A copy of the project that shares the sources and node_modules: the .env is written there, not
  // in the work tree, which other runs read.
  const root = join(import.meta.dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'dotenv-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const entry of ['package.json', 'package-lock.json', 'scripts', 'service', 'tools', 'node_modules'])
    symlinkSync(join(root, entry), join(dir, entry));
  // The copy as a user makes it, with the one edit that shows the file is read: the database path
  // (the development default is ./data/items.db, so the example's own value would prove nothing).
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  assert.match(example, /^DATABASE_PATH=\.\/data\/items\.db$/m);
  writeFileSync(
    join(dir, '.env'),
    example.replace(/^DATABASE_PATH=.*$/m, 'DATABASE_PATH=./data/from-dotenv.db'),
  );
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: dir,
    // The environment wins over .env: only the ports are set, everything else comes from the file
    // (LOG_LEVEL=info there, so the access line below is written).
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  killGroupAfter(t, child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  await waitForLine(child, (l) => l.includes('service listening'), 30_000);

  const health = await fetch(`http://127.0.0.1:${port}/api/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  // DATABASE_PATH from the file, relative to the project the command ran in.
  assert.ok(existsSync(join(dir, 'data', 'from-dotenv.db')), 'the SQLite file named in .env was not created');
  assert.equal(stderr, '', 'the start wrote to stderr');
  const exited = once(child, 'exit');
  process.kill(-(child.pid ?? 0), 'SIGINT');
  await exited;
});
