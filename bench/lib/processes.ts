// Child processes of a benchmark run: pinned to a core, waited for, and always stopped (also on error or Ctrl-C).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const running = new Set<ChildProcess>();

/** taskset is there and the machine has a core for the server and one for everything else. */
export const canPin: boolean =
  availableParallelism() >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

/** Pins this process (and the threads it starts from now on) to one core. */
export function pinSelf(core: number): void {
  if (canPin) spawnSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' });
}

export interface StartOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Core to pin the process to (ignored where pinning is unavailable). */
  readonly core?: number;
  /** File that receives stdout (e.g. access logs); stdout is discarded when absent. */
  readonly stdoutFile?: string;
  /** A stderr (or stdout, when not redirected) line that says the process is ready. */
  readonly ready: (line: string) => boolean;
  readonly readyTimeoutMs: number;
}

export interface Started {
  readonly child: ChildProcess;
  readonly readyLine: string;
  /** Output seen so far (stderr, and stdout when not redirected), for error messages. */
  readonly output: () => string;
  stop(timeoutMs?: number): Promise<void>;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

export async function startProcess(opts: StartOptions): Promise<Started> {
  const pinned = opts.core !== undefined && canPin;
  const command = pinned ? 'taskset' : opts.command;
  const args = pinned ? ['-c', String(opts.core), opts.command, ...opts.args] : [...opts.args];
  const outFd = opts.stdoutFile ? openSync(opts.stdoutFile, 'a') : undefined;
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    // Its own process group, so stopping it also stops anything it started.
    detached: true,
    stdio: ['ignore', outFd ?? 'pipe', 'pipe'],
  });
  if (outFd !== undefined) closeSync(outFd);
  running.add(child);
  child.once('exit', () => running.delete(child));

  const seen: string[] = [];
  const output = () => seen.slice(-60).join('\n');
  const readyLine = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        seen.push(line);
        if (seen.length > 500) seen.shift();
        if (opts.ready(line)) {
          cleanup();
          resolve(line);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`${opts.command} exited (${code ?? signal}) before it was ready:\n${output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      killGroup(child, 'SIGKILL');
      reject(new Error(`${opts.command} not ready after ${opts.readyTimeoutMs} ms:\n${output()}`));
    }, opts.readyTimeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
  // Keep draining (and remembering) output after ready so the pipe never fills and blocks the child.
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) seen.push(line);
    while (seen.length > 500) seen.shift();
  };
  child.stdout?.removeAllListeners('data').on('data', keep);
  child.stderr?.removeAllListeners('data').on('data', keep);

  return {
    child,
    readyLine,
    output,
    async stop(timeoutMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      // Anything the process left behind in its group goes too.
      killGroup(child, 'SIGKILL');
    },
  };
}

/** Runs a process to completion (pinned), returning its stdout; rejects on a non-zero exit. */
export function runToCompletion(opts: {
  command: string;
  args: readonly string[];
  core?: number;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}): Promise<string> {
  const pinned = opts.core !== undefined && canPin;
  const command = pinned ? 'taskset' : opts.command;
  const args = pinned ? ['-c', String(opts.core), opts.command, ...opts.args] : [...opts.args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), opts.timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${opts.command} ${opts.args.join(' ')} failed (${code ?? signal}):\n${err.slice(-3000)}`,
          ),
        );
    });
  });
}

/** Stops every process this run started; synchronous so it also works from an exit handler. */
export function killAll(): void {
  for (const child of running) killGroup(child, 'SIGKILL');
  running.clear();
}

let installed = false;
/** On Ctrl-C, SIGTERM, an uncaught error or a normal exit, nothing this run started survives it. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? err}\n`);
    killAll();
    process.exit(1);
  });
}
