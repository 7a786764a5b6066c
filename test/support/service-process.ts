// Runs the real service process with the start command (`node --import instrumentation.ts server.ts`)
// on free ports, with test tokens set; collects its output, and kills it when the test ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { waitForLine } from './process.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const API_TOKEN = 'process-api-token-0123456789abcdef';
export const ADMIN_TOKEN = 'process-admin-token-0123456789abcdef0123';

export interface SpawnOptions {
  /** false: without `--import instrumentation.ts`, as if the start command had been changed. */
  readonly instrumentation?: boolean;
  /** How long to wait for "service listening" (default 30 s), e.g. while the test holds a lock start-up needs. */
  readonly listenTimeoutMs?: number;
  /** The entry module instead of service/src/server.ts (a test-only composition under test/support/fixtures). */
  readonly entry?: string;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** Origin of the metrics listener (the scrape path is `${metricsUrl}/metrics`). */
  readonly metricsUrl: string;
  /** Every stdout and stderr line so far, raw. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** The stdout lines that parse as JSON (the logs), in order. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the first log line that matches, as lines arrive; rejects with the last lines. */
  waitForLog(
    match: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal) once the process is gone and all output read. */
  exited(): Promise<number | null>;
  /** SIGTERM (graceful shutdown, telemetry flushed) and the exit code. */
  stop(): Promise<number | null>;
}

/** The start command with exactly `env` (plus PATH and HOME), nothing waited for or cleaned up. */
export function spawnRaw(env: Record<string, string>, opts: SpawnOptions = {}): ChildProcess {
  const preload = opts.instrumentation === false ? [] : ['--import', './service/src/instrumentation.ts'];
  return spawn(process.execPath, [...preload, opts.entry ?? 'service/src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts the service in test mode on free ports and resolves once it listens; `env` overrides. */
export async function startServiceProcess(
  t: TestContext,
  env: Record<string, string> = {},
  opts: SpawnOptions = {},
): Promise<ServiceProcess> {
  const child = spawnRaw(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_PATH: ':memory:',
      // Port 0: the service binds a free port itself and announces it. A port picked here and handed
      // over could be taken by another test's process in between (two test files run at once).
      PORT: '0',
      METRICS_PORT: '0',
      API_TOKENS: API_TOKEN,
      ADMIN_TOKEN,
      ...env,
    },
    opts,
  );
  // 'close', not 'exit': by then stdout and stderr are read to the end.
  const closed = once(child, 'close').then(([code]) => code as number | null);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await closed;
  });

  const stdout: string[] = [];
  const stderr: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const collect = (into: string[], parse: boolean) => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      into.push(...lines);
      if (!parse) return;
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // Not a log line (pretty output, a stray write): kept raw in stdout only.
        }
      }
      for (const w of waiters) w();
    };
  };
  child.stdout?.on('data', collect(stdout, true));
  child.stderr?.on('data', collect(stderr, false));

  await waitForLine(child, (l) => l.includes('service listening'), opts.listenTimeoutMs ?? 30_000);
  const waitForLog: ServiceProcess['waitForLog'] = (match, timeoutMs = 10_000) =>
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
  const listening = await waitForLog((l) => l.msg === 'service listening');
  const portOf = (url: unknown) => new URL(String(url)).port;
  return {
    child,
    url: `http://127.0.0.1:${portOf(listening.url)}`,
    metricsUrl: `http://127.0.0.1:${portOf(listening.metricsUrl)}`,
    stdout,
    stderr,
    logs,
    waitForLog,
    exited: () => closed,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return closed;
    },
  };
}

/** The value of one Prometheus sample, e.g. metricValue(text, 'rate_limit_backend{tier="api",backend="memory"}'). */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split('\n'))
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  return undefined;
}
