// Log lines leave the process when they are logged: a service killed without warning has still
// written every line it logged before (the security events and errors that explain the kill).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { collectOutput } from '../support/process.ts';
import { ROOT } from '../support/service-process.ts';

test('when the process is killed right after logging, then every line it logged is in its output', async () => {
  const lines = 500;
  const child = spawn(process.execPath, ['test/telemetry/fixtures/log-then-kill.ts', String(lines)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const [code, signal] = await output.closed;
  assert.equal(signal, 'SIGKILL', `the fixture was killed, not ended (${code}): ${output.stderr()}`);
  const seqs = output
    .stdout()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
  assert.equal(seqs.length, lines, `lines written before the kill: ${seqs.length} of ${lines}`);
  assert.deepEqual(
    seqs,
    Array.from({ length: lines }, (_, i) => i),
  );
});
