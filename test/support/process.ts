// Helpers for tests that run real processes: free ports, waiting for a log line, stopping cleanly.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the first stdout/stderr line that matches; rejects on exit or timeout with what was seen. */
export function waitForLine(
  child: ChildProcess,
  match: (line: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        seen.push(line);
        if (match(line)) {
          cleanup();
          resolve(line);
          return;
        }
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited (${code}) before the expected line:\n${seen.slice(-30).join('\n')}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a line:\n${seen.slice(-30).join('\n')}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

export interface CollectedOutput {
  /** What the child wrote to stdout (and stderr) so far. */
  stdout(): string;
  stderr(): string;
  /** The child has ended (exit code or signal); its pipes may still hold output. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** The child has ended and its pipes are drained: stdout() and stderr() are complete. */
  readonly closed: Promise<[number | null, NodeJS.Signals | null]>;
}

/** Collects a piped child's stdout and stderr from now until it ends. */
export function collectOutput(child: ChildProcess): CollectedOutput {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const ended = (event: 'exit' | 'close') =>
    once(child, event).then((a) => a as [number | null, NodeJS.Signals | null]);
  return { stdout: () => out, stderr: () => err, exited: ended('exit'), closed: ended('close') };
}

/**
 * After the test, kill the detached child's whole process group (npm, shells and what they started).
 * With graceMs, SIGTERM first and SIGKILL once the child has exited or graceMs has passed.
 */
export function killGroupAfter(
  t: { after(fn: () => void | Promise<void>): void },
  child: ChildProcess,
  graceMs = 0,
): void {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid ?? 0), name);
    } catch {
      // Already gone: the test stopped it.
    }
  };
  t.after(async () => {
    // A child that starts processes in groups of its own (the bench does) stops them on SIGTERM;
    // SIGKILL of its group alone would leave them running.
    if (graceMs > 0 && child.exitCode === null && child.signalCode === null) {
      signal('SIGTERM');
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, graceMs))]);
    }
    signal('SIGKILL');
  });
}
