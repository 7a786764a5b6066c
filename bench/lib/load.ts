// The load generator, run as its own process on its own core: autocannon, with latencies kept in µs.
// Usage: node bench/lib/load.ts '<LoadSpec as JSON>'; prints one LoadResult as JSON on stdout.
import { Agent, request } from 'node:http';
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';

export interface LoadSpec {
  readonly url: string;
  readonly path: string;
  readonly connections: number;
  /** Seconds of load before measuring (results discarded). */
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  /**
   * Stop after this many requests instead of after `durationSeconds` (which then only bounds the
   * run): the instruction count compares stacks over the same number of requests.
   */
  readonly requests?: number;
  /** Requests per second over all connections; full speed when absent. */
  readonly rate?: number;
  /** Random paths, methods and query strings instead of one path (the RSS soak). */
  readonly randomPaths?: { readonly itemId: string; readonly token: string };
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latency percentiles in microseconds, from every response (2xx or not). */
  readonly latencyUs: { p50: number; p90: number; p99: number; max: number };
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Record<string, number>;
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const rand = () => Math.random().toString(36).slice(2, 10);

/** One request of the random-path mix: real routes, unknown paths, random methods and query strings. */
function randomRequest(spec: NonNullable<LoadSpec['randomPaths']>) {
  const r = Math.random();
  if (r < 0.25) return { method: 'GET', path: `/api/v1/items/${spec.itemId}?${rand()}=${rand()}` };
  if (r < 0.35) return { method: 'GET', path: `/api/v1/items?limit=${1 + Math.floor(Math.random() * 100)}` };
  if (r < 0.45) return { method: 'GET', path: `/api/v1/items/${crypto.randomUUID()}` };
  if (r < 0.5)
    return {
      method: 'POST',
      path: '/api/v1/items',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x","quantity":1}',
    };
  if (r < 0.55)
    return {
      method: 'GET',
      path: `/api/admin/config?token=${rand()}`,
      headers: { authorization: `Bearer ${rand()}` },
    };
  return { method: pick(METHODS), path: `/${rand()}/${rand()}?${rand()}=${rand()}&access_token=${rand()}` };
}

function run(spec: LoadSpec, seconds: number, record: boolean): Promise<LoadResult> {
  const hist = createHistogram();
  return new Promise((resolve, reject) => {
    const random = spec.randomPaths;
    const instance = autocannon(
      {
        url: `${spec.url}${spec.path}`,
        connections: spec.connections,
        duration: seconds,
        ...(spec.requests ? { amount: spec.requests } : {}),
        ...(random
          ? {
              requests: [
                {
                  setupRequest: (req: autocannon.Request) =>
                    Object.assign(req, randomRequest(random)) as autocannon.Request,
                },
              ],
            }
          : {}),
      },
      (err: Error | null, result: autocannon.Result) => {
        if (err) {
          reject(err);
          return;
        }
        const statusCodes: Record<string, number> = {};
        for (const [code, v] of Object.entries(result.statusCodeStats ?? {}))
          statusCodes[code] = (v as { count: number }).count;
        const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
        const us = (p: number) => (hist.count > 0 ? hist.percentile(p) : 0);
        resolve({
          requests: total,
          seconds: result.duration,
          rps: total / result.duration,
          latencyUs: { p50: us(50), p90: us(90), p99: us(99), max: hist.count > 0 ? hist.max : 0 },
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes,
        });
      },
    );
    if (record)
      instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
        hist.record(Math.max(1, Math.round(ms * 1000)));
      });
  });
}

/**
 * Open-loop load at a fixed rate, evenly spaced (autocannon's rate sends each connection's quota in
 * a burst every second). A 1 ms tick issues every request whose time has come; latency runs from
 * then, not from the due time (the timer's granularity is not the server's). A request waiting for
 * one of the `connections` sockets counts that wait: the schedule never backs off a stalling server.
 */
function runPaced(spec: LoadSpec, seconds: number, record: boolean): Promise<LoadResult> {
  const rate = spec.rate as number;
  const hist = createHistogram();
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const url = new URL(`${spec.url}${spec.path}`);
  const total = Math.max(1, Math.round(rate * seconds));
  const statusCodes: Record<string, number> = {};
  let sent = 0;
  let done = 0;
  let errors = 0;
  let non2xx = 0;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      const elapsed = (performance.now() - t0) / 1000;
      agent.destroy();
      const us = (p: number) => (hist.count > 0 ? hist.percentile(p) : 0);
      resolve({
        requests: done - errors,
        seconds: elapsed,
        rps: (done - errors) / elapsed,
        latencyUs: { p50: us(50), p90: us(90), p99: us(99), max: hist.count > 0 ? hist.max : 0 },
        non2xx,
        errors,
        timeouts: 0,
        statusCodes,
      });
    };
    const fire = () => {
      const issued = performance.now();
      const req = request(
        { agent, host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'GET' },
        (res) => {
          res.resume();
          res.on('end', () => {
            const code = String(res.statusCode);
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) non2xx++;
            if (record) hist.record(Math.max(1, Math.round((performance.now() - issued) * 1000)));
            if (++done === total) finish();
          });
        },
      );
      req.on('error', () => {
        errors++;
        if (++done === total) finish();
      });
      req.end();
    };
    const tick = () => {
      const now = performance.now();
      // Every request whose time has come goes out now.
      while (sent < total && t0 + (sent * 1000) / rate <= now) {
        sent++;
        fire();
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const go = spec.rate ? runPaced : run;
  if (spec.warmupSeconds > 0) await go(spec, spec.warmupSeconds, false);
  const result = await go(spec, spec.durationSeconds, true);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
