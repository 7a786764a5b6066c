// Child processes of a benchmark run: pinned to a core, waited for, and always stopped (also on error or Ctrl-C).
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { waitForLine } from '../../test/support/process.ts';

const running = new Set<ChildProcess>();

/** taskset is there and the machine has a core for the server and one for everything else. */
export const canPin: boolean =
  availableParallelism() >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;

/** Pins this process (and the threads it starts from now on) to one core. */
export function pinSelf(core: number): void {
  if (canPin) spawnSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' });
}

const pinned = (command: string, args: readonly string[], core?: number): [string, string[]] =>
  core !== undefined && canPin ? ['taskset', ['-c', String(core), command, ...args]] : [command, [...args]];

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Not a group leader (execFile), or the group is already gone.
    child.kill(signal);
  }
}

export interface StartOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Core to pin the process to (ignored where pinning is unavailable). */
  readonly core?: number;
  /** File that receives stdout (e.g. access logs); stdout is piped when absent. */
  readonly stdoutFile?: string;
  /** A stderr (or stdout, when not redirected) line that says the process is ready. */
  readonly ready: (line: string) => boolean;
  readonly readyTimeoutMs: number;
}

export interface Started {
  readonly child: ChildProcess;
  readonly readyLine: string;
  stop(timeoutMs?: number): Promise<void>;
}

export async function startProcess(opts: StartOptions): Promise<Started> {
  const [command, args] = pinned(opts.command, opts.args, opts.core);
  const outFd = opts.stdoutFile ? openSync(opts.stdoutFile, 'a') : undefined;
  // Its own process group, so stopping it also stops anything it started.
  const child = track(
    spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', outFd ?? 'pipe', 'pipe'],
    }),
  );
  if (outFd !== undefined) closeSync(outFd);
  let readyLine: string;
  try {
    readyLine = await waitForLine(child, opts.ready, opts.readyTimeoutMs);
  } catch (err) {
    killGroup(child, 'SIGKILL');
    throw new Error(`${opts.command} did not start: ${(err as Error).message}`);
  }
  // Keep draining the pipes, so they never fill and block the child.
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    child,
    readyLine,
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
}): Promise<string> {
  const [command, args] = pinned(opts.command, opts.args, opts.core);
  return new Promise((resolve, reject) => {
    track(
      execFile(command, args, { timeout: opts.timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
        if (err)
          reject(
            new Error(
              `${opts.command} ${opts.args.join(' ')} failed (${err.message}):\n${stderr.slice(-3000)}`,
            ),
          );
        else resolve(stdout);
      }),
    );
  });
}

/** On Ctrl-C, SIGTERM, an uncaught error or a normal exit, nothing this run started survives it. */
export function installCleanup(): void {
  // Synchronous, so it also works from an exit handler.
  const killAll = () => {
    for (const child of running) killGroup(child, 'SIGKILL');
    running.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  for (const event of ['uncaughtException', 'unhandledRejection'] as const)
    process.on(event, (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error)?.stack ?? err}\n`);
      killAll();
      process.exit(1);
    });
}
