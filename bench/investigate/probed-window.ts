// A server with a probe preloaded (heap sampler, stall probe), warmed up at a paced rate, then one
// measured window bracketed by the probe's two SIGUSR2 answers: the probe sees exactly the requests counted.
import { waitForLine } from '../../test/support/process.ts';
import type { Env, Harness } from '../lib/harness.ts';
import type { LoadResult } from '../lib/load.ts';
import type { Variant } from '../lib/variants.ts';

export interface Probe {
  readonly module: string;
  readonly env: NodeJS.ProcessEnv;
  /** The lines the probe prints once the first signal has started it and the second has written. */
  readonly started: string;
  readonly written: string;
  readonly writtenTimeoutMs: number;
  readonly load: { connections: number; rate: number; warmupSeconds: number; durationSeconds: number };
}

/** The window's load result and the spans the OTLP sink received in it; the server is always stopped. */
export async function probedWindow(
  h: Harness,
  env: Env,
  v: Variant,
  p: Probe,
): Promise<{ result: LoadResult; spans: number }> {
  const srv = await env.start(v, 'probe', { env: p.env, nodeArgs: ['--import', p.module] });
  try {
    const path = h.routePath('hello');
    await h.probe(srv.url, path);
    const { connections, rate, warmupSeconds, durationSeconds } = p.load;
    const paced = { url: srv.url, path, connections, rate, warmupSeconds: 0 };
    await h.load({ ...paced, durationSeconds: warmupSeconds });
    // The listener is in place before the signal, so the probe's answer cannot be missed.
    const signal = (answer: string, timeoutMs: number) => {
      const answered = waitForLine(srv.proc.child, (l) => l === answer, timeoutMs);
      process.kill(srv.pid, 'SIGUSR2');
      return answered;
    };
    await signal(p.started, 10_000);
    const spansBefore = env.otlp.total('/v1/traces').items;
    const result = await h.load({ ...paced, durationSeconds });
    await signal(p.written, p.writtenTimeoutMs);
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${v.id}: ${result.non2xx} non-2xx responses and ${result.errors} errors`);
    return { result, spans: env.otlp.total('/v1/traces').items - spansBefore };
  } finally {
    await srv.proc.stop();
  }
}
