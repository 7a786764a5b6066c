// A private redis-server per test (never the shared one on 6379): start, kill, pause, resume,
// restart on the same port; always stopped in t.after.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './process.ts';

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** A separate admin connection (its own, so CLIENT PAUSE can be lifted). */
  command(...args: (string | number)[]): Promise<unknown>;
  /** SIGKILL: the connection drops at once, data is gone (no persistence). */
  kill(): Promise<void>;
  /** Start again on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startRedis(t: TestContext, port?: number): Promise<TestRedis> {
  const p = port ?? (await freePort());
  let child: ChildProcess | undefined;
  let admin: Redis | undefined;

  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitForPort(p, 5_000);
  };
  const adminClient = () => {
    admin ??= new Redis({ port: p, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
    return admin;
  };
  const kill = async () => {
    admin?.disconnect();
    admin = undefined;
    const c = child;
    child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = once(c, 'exit');
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await exited;
    }
  };

  await start();
  t.after(kill);
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    command: (...args) => adminClient().call(String(args[0]), ...args.slice(1).map(String)),
    kill,
    restart: start,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    stop: kill,
  };
}
