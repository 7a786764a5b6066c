// Log lines leave the process when they are logged: a service killed without warning has still
// written every line it logged before (the security events and errors that explain the kill).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { ROOT } from '../support/service-process.ts';

test('when the process is killed right after logging, then every line it logged is in its output', async () => {
  const lines = 500;
  const child = spawn(process.execPath, ['test/telemetry/fixtures/log-then-kill.ts', String(lines)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, 'SIGKILL', `the fixture was killed, not ended (${code}): ${err}`);
  const seqs = out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
  assert.equal(seqs.length, lines, `lines written before the kill: ${seqs.length} of ${lines}`);
  assert.deepEqual(
    seqs,
    Array.from({ length: lines }, (_, i) => i),
  );
});
