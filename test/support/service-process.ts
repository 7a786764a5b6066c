// Runs the real service process with the start command (`node --import instrumentation.ts server.ts`),
// collects its stdout/stderr lines, and kills it when the test ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort, waitForLine } from './process.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly metricsUrl: string;
  /** Every stdout line so far, raw. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** stdout lines that parse as JSON. */
  jsonLines(): Record<string, unknown>[];
  /** Resolves with the first JSON stdout line that matches, polling as lines arrive. */
  waitForJson(
    match: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM and wait for exit (telemetry flushed by then). */
  stop(): Promise<number | null>;
}

export async function startServiceProcess(
  t: TestContext,
  env: Record<string, string>,
  opts: { instrumentation?: boolean } = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const args = [
    ...(opts.instrumentation === false ? [] : ['--import', './service/src/instrumentation.ts']),
    'service/src/server.ts',
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_PATH: ':memory:',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const collect = (into: string[]) => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      into.push(...lines);
    };
  };
  child.stdout.on('data', collect(stdout));
  child.stderr.on('data', collect(stderr));
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  t.after(() => {
    if (!exited) child.kill('SIGKILL');
  });
  await waitForLine(child, (l) => l.includes('service listening'), 30_000);
  const jsonLines = () =>
    stdout.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    stdout,
    stderr,
    jsonLines,
    async waitForJson(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = jsonLines().find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async stop() {
      if (exited) return child.exitCode;
      const done = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await done) as [number | null];
      return code;
    },
  };
}
