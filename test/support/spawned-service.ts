// Spawns the service exactly as the start command does, on free ports, with tokens set; kills it after the test. (Hardening tests: waits on JSON logs and exit status.)
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort, waitForLine } from './process.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const API_TOKEN = 'process-api-token-0123456789abcdef';
export const ADMIN_TOKEN = 'process-admin-token-0123456789abcdef0123';

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly metricsUrl: string;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  readonly stderr: string[];
  waitForLog(
    match: (l: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The start command; `imports` adds preloads after instrumentation.ts (test fixtures). */
export function spawnRaw(env: Record<string, string>, imports: readonly string[] = []): ChildProcess {
  const preloads = ['./service/src/instrumentation.ts', ...imports].flatMap((i) => ['--import', i]);
  return spawn(process.execPath, [...preloads, 'service/src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export async function spawnService(
  t: TestContext,
  env: Record<string, string> = {},
  imports: readonly string[] = [],
): Promise<ServiceProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawnRaw(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      API_TOKENS: API_TOKEN,
      ADMIN_TOKEN,
      ...env,
    },
    imports,
  );
  const exit = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        stderr.push(line);
      }
    }
    for (const w of waiters) w();
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));

  await waitForLine(child, (l) => l.includes('service listening'), 30_000);
  const waitForLog: ServiceProcess['waitForLog'] = (match, timeoutMs) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `no matching log line in ${timeoutMs} ms; last lines:\n${logs
              .slice(-15)
              .map((l) => JSON.stringify(l))
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    logs,
    stderr,
    waitForLog,
    exited: () => exit,
  };
}

/** The value of one Prometheus sample, e.g. metric(text, 'rate_limit_backend{tier="api",backend="memory"}'). */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n'))
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  return undefined;
}
