// Human-readable logs only when stdout is a terminal: `script` gives the process a pseudo-terminal.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { freePort, killGroupAfter, waitForLine } from '../support/process.ts';
import { ROOT } from '../support/service-process.ts';

test('when stdout is a terminal, then log lines are pretty-printed instead of JSON', async (t) => {
  const port = await freePort();
  const metricsPort = await freePort();
  const command = `${process.execPath} --import ./service/src/instrumentation.ts service/src/server.ts`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_PATH: ':memory:',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  killGroupAfter(t, child);
  const line = await waitForLine(child, (l) => l.includes('service listening'), 30_000);
  assert.doesNotMatch(line.trim(), /^\{/, 'not a JSON line');
  assert.match(line, /INFO/);
});
