// What every mode runs on: the server on one core and everything else (load generator, sinks, Redis,
// this process) on the other, servers started and always stopped, loads bounded in time.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/process.ts';
import { parseReady } from '../servers/common.ts';
import { seedDatabase } from '../servers/seed.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import { num, type Options, ROOT, resultsDirOf } from './options.ts';
import { contextSwitches, cpuMicros, gcDelta, gcTotals } from './proc.ts';
import { installCleanup, pinSelf, runToCompletion, type Started, startProcess } from './processes.ts';
import { type GcTotals, type Route, readResults, runHeader, saveResults } from './results.ts';
import { type Sink, startSink } from './sinks.ts';
import { allVariants, launchSpec, type RunContext, type Variant } from './variants.ts';

const SERVER_CORE = 0;
const LOAD_CORE = 1;

export interface Server {
  readonly url: string;
  readonly metricsUrl: string | undefined;
  /** The environment it was started with. */
  readonly env: NodeJS.ProcessEnv;
  readonly pid: number;
  readonly proc: Started;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Write V8 CPU profiles here. */
  readonly profileTo?: string;
  /** A command that runs node itself (valgrind, a cgroup join): the pid is then the wrapper's. */
  readonly wrapper?: readonly string[];
  readonly nodeArgs?: readonly string[];
}

export type Measured = LoadResult & {
  cpuUsPerRequest: number;
  switchesPerRequest: number;
  /** Every request answered, warm-up included, to relate exported telemetry to requests. */
  served: number;
  gc?: GcTotals;
};

/** The local world of one run: Redis, the OTLP and Sentry sinks, the seeded SQLite file. */
export interface Env {
  readonly otlp: Sink;
  readonly sentry: Sink;
  start(v: Variant, tag: string, o?: StartOptions): Promise<Server>;
  teardown(): Promise<void>;
}

export type Harness = ReturnType<typeof createHarness>;

export function createHarness(opt: Options) {
  installCleanup();
  pinSelf(LOAD_CORE);
  const work = mkdtempSync(join(tmpdir(), 'bench-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  const resultsDir = resultsDirOf(opt);
  mkdirSync(resultsDir, { recursive: true });
  const itemId = crypto.randomUUID();

  async function load(spec: LoadSpec): Promise<LoadResult> {
    const out = await runToCompletion({
      command: process.execPath,
      args: [join(ROOT, 'bench', 'lib', 'load.ts'), JSON.stringify(spec)],
      core: LOAD_CORE,
      timeoutMs: (spec.warmupSeconds + spec.durationSeconds) * 1000 + 60_000,
    });
    return JSON.parse(out.trim().split('\n').pop() as string) as LoadResult;
  }

  async function start(ctx: RunContext, v: Variant, tag: string, o: StartOptions = {}): Promise<Server> {
    const spec = launchSpec(v, ctx, o.env);
    const prof = opt['cpu-prof'];
    // V8 writes one profile per thread (the loader hooks run on their own): a directory per run.
    const profileTo =
      o.profileTo ??
      (prof === v.id || prof === 'all' ? join(resultsDir, 'profiles', `${v.id}-${tag}`) : undefined);
    const [command, ...wrapArgs] = o.wrapper ?? [];
    const proc = await startProcess({
      command: command ?? process.execPath,
      args: [
        ...(command ? [...wrapArgs, process.execPath] : []),
        ...(profileTo ? ['--cpu-prof', `--cpu-prof-dir=${profileTo}`] : []),
        ...(o.nodeArgs ?? []),
        ...spec.args,
      ],
      env: spec.env,
      cwd: ROOT,
      core: SERVER_CORE,
      // Access logs go to a file, as in production behind a log shipper.
      stdoutFile: join(work, `${v.id.replace(/\W/g, '_')}.log`),
      ready: (l) => parseReady(l) !== undefined,
      // Under valgrind, loading the template's modules alone takes minutes.
      readyTimeoutMs: o.wrapper ? 900_000 : 60_000,
    });
    const info = parseReady(proc.readyLine) as { url: string; metricsUrl?: string };
    return { url: info.url, metricsUrl: info.metricsUrl, env: spec.env, pid: proc.child.pid as number, proc };
  }

  return {
    opt,
    work,
    resultsDir,
    load,
    num: (name: keyof Options, floor?: { min: number }) => num(opt, name, floor),
    header: () => runHeader(ROOT),
    save: (kind: string, results: Parameters<typeof saveResults>[2]) =>
      saveResults(resultsDir, kind, results),
    read: <T>(kind: string) => readResults<T>(resultsDir, kind),
    routePath: (route: Route) => (route === 'hello' ? '/api/v1/hello' : `/api/v1/items/${itemId}`),
    randomPaths: { itemId, token: 'not-a-token' },

    /** A mode's stacks: its defaults, or --variants (to narrow a run); `always` stay in either way. */
    variants(defaults: readonly string[] | 'all', always: readonly string[] = []): Variant[] {
      const wanted = opt.variants?.split(',') ?? defaults;
      return allVariants().filter((v) => wanted === 'all' || wanted.includes(v.id) || always.includes(v.id));
    },

    rateConnections: (rate: number) =>
      opt['rate-connections'] === undefined
        ? Math.max(10, Math.ceil(rate / 100))
        : num(opt, 'rate-connections', { min: 1 }),

    /** Checks a server answers the route with 200 before loading it: a wrong wiring fails loudly. */
    async probe(url: string, path: string): Promise<void> {
      const res = await fetch(`${url}${path}`);
      const body = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${body.slice(0, 300)}`);
    },

    /**
     * Warm-up, then the measured window with the server's CPU time read around it: CPU µs per
     * request moves far less than req/s with whatever else the machine runs.
     */
    async measure(srv: Server, spec: LoadSpec): Promise<Measured> {
      const warm =
        spec.warmupSeconds > 0
          ? await load({ ...spec, durationSeconds: spec.warmupSeconds, warmupSeconds: 0 })
          : undefined;
      // At a fixed rate, the template's collections in the window (read outside it): a pause stops
      // every request that arrives meanwhile, which the p99 shows.
      const metrics = spec.rate ? srv.metricsUrl : undefined;
      const gcBefore = metrics ? await gcTotals(metrics, false) : undefined;
      const [cpu, switches] = [cpuMicros(srv.pid), contextSwitches(srv.pid)];
      const r = await load({ ...spec, warmupSeconds: 0 });
      const cpuUsPerRequest = (cpuMicros(srv.pid) - cpu) / r.requests;
      const switchesPerRequest = (contextSwitches(srv.pid) - switches) / r.requests;
      const gc = metrics && gcBefore ? gcDelta(gcBefore, await gcTotals(metrics, false)) : undefined;
      const served = r.requests + (warm?.requests ?? 0);
      return { ...r, cpuUsPerRequest, switchesPerRequest, served, ...(gc ? { gc } : {}) };
    },

    async setup(): Promise<Env> {
      // A private, throw-away Redis (never the shared one on 6379).
      const port = await freePort();
      const redis = await startProcess({
        command: 'redis-server',
        args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        core: LOAD_CORE,
        ready: (l) => l.includes('Ready to accept connections'),
        readyTimeoutMs: 10_000,
      });
      const [otlp, sentry] = [await startSink(), await startSink()];
      const databasePath = join(work, 'items.db');
      seedDatabase(databasePath, itemId);
      const ctx: RunContext = {
        root: ROOT,
        redisUrl: `redis://127.0.0.1:${port}`,
        otlpUrl: otlp.url,
        sentryDsn: `http://public@127.0.0.1:${sentry.port}/1`,
        databasePath,
      };
      return {
        otlp,
        sentry,
        start: (v, tag, o) => start(ctx, v, tag, o),
        async teardown() {
          await otlp.close();
          await sentry.close();
          await redis.stop();
        },
      };
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
