// A private, throw-away redis-server for one benchmark run (never the shared one on 6379).
import { freePort } from '../../test/support/process.ts';
import { type Started, startProcess } from './processes.ts';

export interface RedisProcess {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedis(core?: number): Promise<RedisProcess> {
  const port = await freePort();
  const proc: Started = await startProcess({
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ...(core === undefined ? {} : { core }),
    ready: (l) => l.includes('Ready to accept connections'),
    readyTimeoutMs: 10_000,
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => proc.stop() };
}
