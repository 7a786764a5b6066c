// Starts a Prometheus-project server (Prometheus, Alertmanager) for a test and waits for /-/ready; in
// t.after it is killed and its temp dir removed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonOptions {
  /** For error messages. */
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  /** The test's temp dir (config, storage), removed after the process is gone. */
  readonly dir: string;
  /** Base URL where it serves /-/ready. */
  readonly url: string;
}

export async function startDaemon(t: TestContext, o: DaemonOptions): Promise<void> {
  const output: string[] = [];
  const child = spawn(o.binary, o.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c: Buffer) => output.push(c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => output.push(c.toString('utf8')));
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(o.dir, { recursive: true, force: true });
  });

  const until = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${o.name} exited (${child.exitCode}):\n${output.join('')}`);
    const ready = await fetch(`${o.url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > until) throw new Error(`${o.name} not ready after 20 s:\n${output.join('')}`);
    await sleep(100);
  }
}
