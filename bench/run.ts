// `npm run bench`: bare Express, the template and a naive stack, side by side, on one machine, in one run.
// Writes results as JSON (bench/results/) and renders BENCHMARKS.md from them.
//   --mode=throughput (default)  req/s, p50/p99 per stack and per layer, and the fixed-rate p99 test
//   --mode=scrape                /metrics scrape time (realistic and 2,000 label sets), RSS under a soak
//   --mode=instructions          instructions per request under valgrind's callgrind (noise-free cost)
//   --mode=alloc                 bytes allocated per request (V8's sampling heap profiler), by package
//   --mode=stalls                what holds the event loop at the fixed rate: stalls, GC pauses, OTLP exports
//   --mode=summary               the summary's targets only (bare, template, naive; the pod under its limits), ~8 min
// Every load loop here is bounded in time, targets only 127.0.0.1, and every process it starts is stopped.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { waitForLine } from '../test/support/process.ts';
import { summariseAllocations } from './lib/allocation.ts';
import { callgrindArgs, dumpInstructions, zeroCounters } from './lib/callgrind.ts';
import { createCgroup, deploymentLimits } from './lib/cgroup.ts';
import { SAMPLING_INTERVAL, STARTED, WRITTEN } from './lib/heap-sampler.ts';
import type { LoadResult, LoadSpec } from './lib/load.ts';
import { loadAverage, machineInfo } from './lib/machine.ts';
import {
  canPin,
  installCleanup,
  pinSelf,
  runToCompletion,
  type Started,
  startProcess,
} from './lib/processes.ts';
import { summariseProfile } from './lib/profile.ts';
import { startRedis } from './lib/redis.ts';
import {
  type AllocationResults,
  type GcTotals,
  type InstructionResults,
  type LimitsResults,
  type Run,
  type RunHeader,
  renderReport,
  type ScrapeResults,
  type StallResults,
  type ThroughputResults,
} from './lib/report.ts';
import { startSink } from './lib/sinks.ts';
import { STALL_STARTED, STALL_WRITTEN, summariseStalls } from './lib/stalls.ts';
import { allVariants, launchSpec, type RunContext, type Variant } from './lib/variants.ts';
import { parseReady } from './servers/common.ts';
import { seedDatabase } from './servers/seed.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SERVER_CORE = 0;
// The full template without OTel too: at the same rate it shows what the p99 owes to the SDK; the
// full template under V8's default pretenuring, what the start command's GC flag changes; and with
// the packaged OTLP exporters, what encoding each batch in one synchronous run adds to the tail.
const FIXED_RATE_STACKS = [
  'node-http',
  'bare',
  'template',
  'template-otel',
  'template-v8-pretenuring',
  'template-whole-batch',
];
const LOAD_CORE = 1;

const { values: opt } = parseArgs({
  options: {
    mode: { type: 'string', default: 'throughput' },
    rounds: { type: 'string', default: '5' },
    // A 1.5 s warm-up charged the template's JIT compilation to its measured window.
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    // Default: one connection per 100 req/s of the fixed rate, at least 10. With 10 at 5,000 req/s each
    // socket had 2 ms per request, and the p99 measured the load generator's queue, not the server.
    'rate-connections': { type: 'string' },
    // The fixed-rate run measures a settled process: a new one spends its first ~20 s at this rate
    // compiling and growing its heap on the same core (see the report), which is measured apart.
    'rate-first': { type: 'string', default: '5' },
    'rate-warmup': { type: 'string', default: '20' },
    'rate-duration': { type: 'string', default: '20' },
    variants: { type: 'string' },
    'rss-duration': { type: 'string', default: '300' },
    // In three soaks the template's RSS rose in one step 50-150 s into the traffic (the heap reaching
    // its working size) and stayed flat after. 120 s clears most of that; the report prints the
    // curve from the start of the warm-up, so a step that lands inside the window shows as one.
    'rss-warmup': { type: 'string', default: '120' },
    scrapes: { type: 'string', default: '200' },
    'label-sets': { type: 'string', default: '2000' },
    'ir-warmup': { type: 'string', default: '1000' },
    'ir-requests': { type: 'string', default: '1000' },
    // How many times a stack with telemetry on is counted (each in a new process): its count moves
    // with when its garbage collections and export batches fall (seen: ±9 % for the template).
    'ir-counts': { type: 'string', default: '3' },
    'ir-route': { type: 'string', default: 'hello' },
    'alloc-rate': { type: 'string', default: '300' },
    'alloc-warmup': { type: 'string', default: '10' },
    'alloc-duration': { type: 'string', default: '10' },
    // Default: the fixed rate of the last throughput run (half the template's capacity).
    'stall-rate': { type: 'string' },
    'stall-warmup': { type: 'string', default: '20' },
    'stall-duration': { type: 'string', default: '20' },
    'results-dir': { type: 'string', default: join(ROOT, 'bench', 'results') },
    out: { type: 'string', default: join(ROOT, 'BENCHMARKS.md') },
    'limits-duration': { type: 'string', default: '90' },
    'cpu-prof': { type: 'string' },
    profile: { type: 'string', default: 'template' },
    // Keep this run as the "before tuning" reference the report compares against.
    baseline: { type: 'boolean', default: false },
  },
  strict: true,
});

const SUMMARY = opt.mode === 'summary';
// The summary's plan: 3 rounds, the fixed rate without its first-seconds window and shorter.
if (SUMMARY)
  for (const [k, v] of Object.entries({
    rounds: '3',
    'rate-first': '0',
    'rate-warmup': '8',
    'rate-duration': '12',
  }))
    if (!process.argv.some((a) => a.startsWith(`--${k}=`))) Object.assign(opt, { [k]: v });

const num = (name: keyof typeof opt) => {
  const n = Number(opt[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
  return n;
};

installCleanup();
// The orchestrator, its sinks, Redis and the load generator share one core; the server has the other.
pinSelf(LOAD_CORE);

const work = mkdtempSync(join(tmpdir(), 'bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const resultsDir = resolve(opt['results-dir'] as string);
mkdirSync(resultsDir, { recursive: true });
const itemId = crypto.randomUUID();

interface Server {
  readonly url: string;
  /** The environment the server was started with. */
  readonly env: NodeJS.ProcessEnv;
  readonly metricsUrl: string | undefined;
  readonly pid: number;
  readonly proc: Started;
}

async function startServer(
  v: Variant,
  ctx: RunContext,
  tag: string,
  extraEnv: NodeJS.ProcessEnv = {},
  profileTo?: string,
  wrapper?: readonly string[],
  nodeArgs: readonly string[] = [],
) {
  const spec = launchSpec(v, ctx, extraEnv);
  const prof = opt['cpu-prof'];
  // V8 writes one profile per thread (the module loader hooks run on their own thread), with the
  // pid and thread id in the default file name: a directory per run keeps them apart.
  const profArgs = profileTo
    ? ['--cpu-prof', `--cpu-prof-dir=${profileTo}`]
    : prof && (prof === v.id || prof === 'all')
      ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, 'profiles', `${v.id}-${tag}`)}`]
      : [];
  // A wrapper (valgrind) runs node itself, so the process's pid is the wrapper's.
  const [command, ...wrapArgs] = wrapper ?? [];
  const proc = await startProcess({
    command: command ?? process.execPath,
    args: [...(command ? [...wrapArgs, process.execPath] : []), ...profArgs, ...nodeArgs, ...spec.args],
    env: spec.env,
    cwd: ROOT,
    core: SERVER_CORE,
    // Access logs (and any other stdout) go to a file, as in production behind a log shipper.
    stdoutFile: join(work, `${v.id.replace(/\W/g, '_')}.log`),
    ready: (l) => parseReady(l) !== undefined,
    // Under valgrind, loading the template's modules alone takes minutes.
    readyTimeoutMs: wrapper ? 900_000 : 60_000,
  });
  const info = parseReady(proc.readyLine) as { url: string; metricsUrl?: string };
  return {
    url: info.url,
    env: spec.env,
    metricsUrl: info.metricsUrl,
    pid: proc.child.pid as number,
    proc,
  } satisfies Server;
}

async function load(spec: LoadSpec): Promise<LoadResult> {
  const timeoutMs = (spec.warmupSeconds + spec.durationSeconds) * 1000 + 60_000;
  const out = await runToCompletion({
    command: process.execPath,
    args: [join(ROOT, 'bench', 'lib', 'load.ts'), JSON.stringify(spec)],
    core: LOAD_CORE,
    timeoutMs,
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as LoadResult;
}

/** CPU time (user + system, all threads) a process has used, in µs, from /proc. */
function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
  } catch {
    return Number.NaN;
  }
}
const CLOCK_TICKS = 100;

/**
 * Context switches (voluntary and not) of every thread of a process, from /proc: a request that
 * hands work to another thread (libuv's pool, a worker) or sleeps in the middle shows up here.
 */
function contextSwitches(pid: number): number {
  try {
    let n = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:nonvoluntary|voluntary)_ctxt_switches:\s+(\d+)$/gm))
        n += Number(m[1]);
    }
    return n;
  } catch {
    return Number.NaN;
  }
}

/**
 * Warm-up, then the measured window with the server's CPU time read around it: CPU µs per request
 * is far less sensitive than req/s to whatever else the machine runs.
 */
async function measure(
  srv: Server,
  spec: LoadSpec,
): Promise<
  LoadResult & { cpuUsPerRequest: number; switchesPerRequest: number; served: number; gc?: GcTotals }
> {
  const warm =
    spec.warmupSeconds > 0
      ? await load({ ...spec, durationSeconds: spec.warmupSeconds, warmupSeconds: 0 })
      : undefined;
  // At a fixed rate, the template's garbage collections in the window, from its own /metrics (read
  // outside the window): a pause stops every request that arrives meanwhile, which the p99 shows.
  const gcBefore = spec.rate && srv.metricsUrl ? await gcTotals(srv.metricsUrl, false) : undefined;
  const before = cpuMicros(srv.pid);
  const switches = contextSwitches(srv.pid);
  const r = await load({ ...spec, warmupSeconds: 0 });
  const cpuUsPerRequest = (cpuMicros(srv.pid) - before) / r.requests;
  const switchesPerRequest = (contextSwitches(srv.pid) - switches) / r.requests;
  const gc =
    gcBefore && srv.metricsUrl ? gcDelta(gcBefore, await gcTotals(srv.metricsUrl, false)) : undefined;
  // Every request the server answered (warm-up included), to relate exported telemetry to requests.
  const served = r.requests + (warm?.requests ?? 0);
  return { ...r, cpuUsPerRequest, switchesPerRequest, served, ...(gc ? { gc } : {}) };
}

const rateConnectionsFor = (rate: number) =>
  opt['rate-connections'] === undefined
    ? Math.max(10, Math.ceil(rate / 100))
    : Math.max(1, Math.floor(num('rate-connections')));

function routePath(route: 'hello' | 'item'): string {
  return route === 'hello' ? '/api/v1/hello' : `/api/v1/items/${itemId}`;
}

/** Checks a server answers the route with 200 before loading it: a wrong wiring fails loudly. */
async function probe(url: string, path: string): Promise<void> {
  const res = await fetch(`${url}${path}`);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${body.slice(0, 300)}`);
}

async function setup() {
  const redis = await startRedis(LOAD_CORE);
  const otlp = await startSink();
  const sentry = await startSink();
  const databasePath = join(work, 'items.db');
  seedDatabase(databasePath, itemId);
  const ctx: RunContext = {
    root: ROOT,
    redisUrl: redis.url,
    otlpUrl: otlp.url,
    sentryDsn: `http://public@127.0.0.1:${sentry.port}/1`,
    databasePath,
  };
  return {
    ctx,
    otlp,
    sentry,
    async teardown() {
      await otlp.close();
      await sentry.close();
      await redis.stop();
    },
  };
}

/**
 * The stacks a mode runs: its defaults (every stack when it has none), or the ids given with
 * --variants (to narrow a run while developing); the ids in `always` stay in either way.
 */
function chosenVariants(defaults: readonly string[] | 'all', always: readonly string[] = []): Variant[] {
  const wanted = opt.variants?.split(',') ?? defaults;
  return allVariants().filter((v) => wanted === 'all' || wanted.includes(v.id) || always.includes(v.id));
}

async function throughput(): Promise<void> {
  const rounds = Math.max(1, Math.floor(num('rounds')));
  const durationSeconds = num('duration');
  const warmupSeconds = num('warmup');
  const connections = Math.max(1, Math.floor(num('connections')));
  // Bare Express always stays in: every ratio needs it.
  const variants = chosenVariants(SUMMARY ? ['template', 'naive'] : 'all', ['bare']);
  const header = runHeader();
  const env = await setup();
  const results: ThroughputResults = {
    kind: 'throughput',
    ...header,
    settings: { rounds, durationSeconds, warmupSeconds, connections, rateConnections: 0 },
    variants: variants.map(({ id, label, group, layers, description }) => ({
      id,
      label,
      group,
      layers: layers ?? 'n/a',
      description,
    })),
    runs: [],
    fixedRate: { rate: 0, runs: [] },
    sinks: {},
  };
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    for (let round = 0; round < rounds; round++) {
      // Interleaved: every round visits every stack, each round starting one place later.
      const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
      for (const v of order) {
        const before = {
          spans: env.otlp.total('/v1/traces'),
          logs: env.otlp.total('/v1/logs'),
          otlp: env.otlp.total(),
          sentry: env.sentry.total(),
        };
        let served = 0;
        const srv = await startServer(v, env.ctx, `r${round}`);
        try {
          for (const route of v.routes) {
            await probe(srv.url, routePath(route));
            const r = await measure(srv, {
              url: srv.url,
              path: routePath(route),
              connections,
              warmupSeconds,
              durationSeconds,
            });
            results.runs.push({ variant: v.id, route, round, result: r });
            served += r.served + 1;
            const rps = Math.round(r.rps).toString().padStart(6);
            const cpu = r.cpuUsPerRequest.toFixed(1);
            const { p50, p99 } = r.latencyUs;
            log(
              `round ${round + 1}/${rounds} ${v.id.padEnd(22)} ${route.padEnd(5)} ${rps} req/s  cpu ${cpu} µs/req  p50 ${p50} µs  p99 ${p99} µs`,
            );
          }
        } finally {
          await srv.proc.stop();
        }
        const s = results.sinks[v.id] ?? {
          otlpRequests: 0,
          otlpBytes: 0,
          sentryRequests: 0,
          sentryBytes: 0,
          served: 0,
          spans: 0,
          logRecords: 0,
        };
        results.sinks[v.id] = s;
        s.served += served;
        s.spans += env.otlp.total('/v1/traces').items - before.spans.items;
        s.logRecords += env.otlp.total('/v1/logs').items - before.logs.items;
        s.otlpRequests += env.otlp.total().requests - before.otlp.requests;
        s.otlpBytes += env.otlp.total().bytes - before.otlp.bytes;
        s.sentryRequests += env.sentry.total().requests - before.sentry.requests;
        s.sentryBytes += env.sentry.total().bytes - before.sentry.bytes;
      }
    }

    // Fixed rate: half the template's measured capacity, the stacks in an order rotated each round.
    // node:http is there to show what a moderate rate costs a server that has none of our code.
    const tmpl = results.runs.filter((r) => r.variant === 'template' && r.route === 'hello');
    const capacity = tmpl.map((r) => r.result.rps).sort((a, b) => a - b)[Math.floor(tmpl.length / 2)] ?? 0;
    const rate = Math.max(10, Math.round(capacity / 2));
    const rateConnections = rateConnectionsFor(rate);
    const rateFirst = num('rate-first');
    const rateWarmup = num('rate-warmup');
    const rateDuration = num('rate-duration');
    results.fixedRate.rate = rate;
    Object.assign(results.settings, {
      rateConnections,
      rateFirstSeconds: rateFirst,
      rateWarmupSeconds: rateWarmup,
      rateDurationSeconds: rateDuration,
    });
    const firstRuns: Run[] = [];
    results.fixedRate.firstRuns = firstRuns;
    const atRate = variants.filter((v) => FIXED_RATE_STACKS.includes(v.id));
    for (let round = 0; round < rounds; round++) {
      for (const v of atRate.map((_, i) => atRate[(i + round) % atRate.length] as Variant)) {
        const srv = await startServer(v, env.ctx, `rate-r${round}`);
        try {
          await probe(srv.url, routePath('hello'));
          const paced = { url: srv.url, path: routePath('hello'), connections: rateConnections, rate };
          // The first seconds of a new process, then (after the warm-up) the settled process.
          const first =
            rateFirst > 0
              ? await measure(srv, { ...paced, warmupSeconds: 0, durationSeconds: rateFirst })
              : undefined;
          if (first) firstRuns.push({ variant: v.id, route: 'hello', round, result: first });
          const r = await measure(srv, {
            ...paced,
            warmupSeconds: rateWarmup,
            durationSeconds: rateDuration,
          });
          results.fixedRate.runs.push({ variant: v.id, route: 'hello', round, result: r });
          log(
            `fixed rate ${rate}/s round ${round + 1}/${rounds} ${v.id.padEnd(10)} first ${rateFirst} s p99 ${first?.latencyUs.p99} µs; settled p50 ${r.latencyUs.p50} µs  p99 ${r.latencyUs.p99} µs  cpu ${r.cpuUsPerRequest.toFixed(1)} µs/req  ${r.switchesPerRequest.toFixed(2)} switches/req`,
          );
        } finally {
          await srv.proc.stop();
        }
      }
    }

    // Where the time goes: one more run of a stack under V8's sampling profiler (not in the tables,
    // the profiler itself costs a little), summarised by package and by function.
    const profiled = variants.find((v) => v.id === opt.profile);
    const profileRoute = SUMMARY ? 'item' : 'hello';
    if (profiled) {
      const dir = join(work, `profile-${profiled.id}`);
      const srv = await startServer(profiled, env.ctx, 'profile', {}, dir);
      const spec = {
        url: srv.url,
        path: routePath(profileRoute),
        connections,
        warmupSeconds: 0,
        durationSeconds,
      };
      const nowUs = () => Number(process.hrtime.bigint() / 1000n);
      const window = { fromUs: 0, toUs: 0 };
      try {
        if (warmupSeconds > 0) await load({ ...spec, durationSeconds: warmupSeconds });
        window.fromUs = nowUs();
        await load(spec);
        window.toUs = nowUs();
      } finally {
        await srv.proc.stop();
      }
      // The main thread's profile: thread id 0 in CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile.
      const main = readdirSync(dir).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
      if (!main) throw new Error(`no main-thread CPU profile in ${dir}: ${readdirSync(dir).join(', ')}`);
      results.profile = {
        variant: profiled.id,
        route: profileRoute,
        ...summariseProfile(join(dir, main), 30, window),
      };
    }
    if (SUMMARY) results.limits = await underLimits(env);
  } finally {
    await env.teardown();
  }
  saveResults(SUMMARY ? 'summary' : 'throughput', results);
  writeReport();
  const wrong = [...results.runs, ...results.fixedRate.runs].filter((r) => r.result.non2xx > 0);
  if (wrong.length > 0)
    throw new Error(
      `non-2xx responses in ${wrong.map((r) => `${r.variant}/${r.route}#${r.round}`).join(', ')}`,
    );
}

async function timeScrapes(url: string, count: number, accept?: string) {
  const ms: number[] = [];
  let body = '';
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await fetch(url, accept ? { headers: { accept } } : {});
    body = await res.text();
    ms.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
  }
  const series = body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  return { ms, series, bytes: Buffer.byteLength(body) };
}

/** What a window added to the totals, kind by kind. */
const gcDelta = (before: GcTotals, after: GcTotals): GcTotals =>
  Object.fromEntries(
    Object.entries(after).map(([kind, a]) => [
      kind,
      { count: a.count - (before[kind]?.count ?? 0), seconds: a.seconds - (before[kind]?.seconds ?? 0) },
    ]),
  );

/**
 * Garbage-collection totals so far by kind from the template's own `nodejs_gc_duration_seconds`
 * histogram (prom-client's default metrics): how often each kind of collection ran and how long it
 * paused. prom-client prints a kind only once it has observed one: a young process may have none yet
 * (`required` false), where the soak, minutes in, must have some.
 */
async function gcTotals(metricsUrl: string, required = true): Promise<GcTotals> {
  const body = await (await fetch(`${metricsUrl}/metrics`)).text();
  const out: GcTotals = {};
  for (const m of body.matchAll(/^nodejs_gc_duration_seconds_(count|sum)\{kind="(\w+)"\} (\S+)$/gm)) {
    const [, field, kind, value] = m as unknown as [string, 'count' | 'sum', string, string];
    const e = out[kind] ?? { count: 0, seconds: 0 };
    out[kind] = e;
    if (field === 'count') e.count = Number(value);
    else e.seconds = Number(value);
  }
  if (required && Object.keys(out).length === 0)
    throw new Error('bench: /metrics has no nodejs_gc_duration_seconds');
  return out;
}

/** Appends a process's RSS to `into` every `everySeconds`, timed from now; returns the stop. */
function sampleRss(pid: number, everySeconds: number, into: { seconds: number; bytes: number }[]) {
  const t0 = performance.now();
  const timer = setInterval(() => {
    into.push({ seconds: Math.round((performance.now() - t0) / 100) / 10, bytes: readRss(pid) });
  }, everySeconds * 1000);
  return () => clearInterval(timer);
}

const readRss = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
};

async function scrape(): Promise<void> {
  const scrapes = Math.max(1, Math.floor(num('scrapes')));
  const labelSets = Math.max(1, Math.floor(num('label-sets')));
  const rssSeconds = num('rss-duration');
  const rssWarmup = num('rss-warmup');
  const template = allVariants().find((v) => v.id === 'template') as Variant;
  const header = runHeader();
  const env = await setup();
  const openMetrics = 'application/openmetrics-text; version=1.0.0';
  const results: ScrapeResults = {
    kind: 'scrape',
    ...header,
    settings: { scrapes, labelSets, rssSeconds, rssWarmupSeconds: rssWarmup },
    scrape: [],
    rss: { samples: [], baselineBytes: 0, finalBytes: 0, load: undefined },
  };
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const randomPaths = { itemId, token: 'not-a-token' };
  try {
    // 1. Realistic series: the full template after a mix of real, unknown and refused requests.
    {
      const srv = await startServer(template, env.ctx, 'scrape');
      try {
        await load({
          url: srv.url,
          path: '/',
          connections: 10,
          warmupSeconds: 0,
          durationSeconds: Math.min(10, Math.max(2, rssWarmup)),
          randomPaths,
        });
        for (const [format, accept] of [
          ['classic', undefined],
          ['OpenMetrics', openMetrics],
        ] as const) {
          const r = await timeScrapes(`${srv.metricsUrl}/metrics`, scrapes, accept);
          results.scrape.push({ case: 'realistic', format, ...r });
          log(`scrape realistic ${format}: ${r.series} series`);
        }
      } finally {
        await srv.proc.stop();
      }
    }
    // 2. The same registry with 2,000 label sets on the request-duration histogram.
    {
      const srv = await startServer(template, env.ctx, 'scrape-labels', {
        BENCH_EXTRA_LABEL_SETS: String(labelSets),
      });
      try {
        for (const [format, accept] of [
          ['classic', undefined],
          ['OpenMetrics', openMetrics],
        ] as const) {
          const r = await timeScrapes(`${srv.metricsUrl}/metrics`, scrapes, accept);
          results.scrape.push({ case: `${labelSets} label sets`, format, ...r });
          log(`scrape ${labelSets} label sets ${format}: ${r.series} series`);
        }
      } finally {
        await srv.proc.stop();
      }
    }
    // 3. RSS over a soak of random-path traffic (warm-up first, then the measured window).
    {
      const srv = await startServer(template, env.ctx, 'rss');
      try {
        // RSS during the warm-up too: the curve shows when the heap reached its working size.
        const warmupSamples: { seconds: number; bytes: number }[] = [];
        results.rss.warmupSamples = warmupSamples;
        const stopWarmupSampler = sampleRss(srv.pid, 10, warmupSamples);
        try {
          if (rssWarmup > 0)
            await load({
              url: srv.url,
              path: '/',
              connections: 10,
              warmupSeconds: 0,
              durationSeconds: rssWarmup,
              randomPaths,
            });
        } finally {
          stopWarmupSampler();
        }
        results.rss.baselineBytes = readRss(srv.pid);
        const gcBefore = await gcTotals(srv.metricsUrl as string);
        const t0 = performance.now();
        results.rss.samples.push({ seconds: 0, bytes: results.rss.baselineBytes });
        const stopSampler = sampleRss(
          srv.pid,
          Math.max(1, Math.min(10, rssSeconds / 30)),
          results.rss.samples,
        );
        try {
          results.rss.load = await load({
            url: srv.url,
            path: '/',
            connections: 10,
            warmupSeconds: 0,
            durationSeconds: rssSeconds,
            randomPaths,
          });
        } finally {
          stopSampler();
        }
        results.rss.finalBytes = readRss(srv.pid);
        const gcAfter = await gcTotals(srv.metricsUrl as string);
        results.rss.gc = gcDelta(gcBefore, gcAfter);
        results.rss.samples.push({
          seconds: Math.round((performance.now() - t0) / 100) / 10,
          bytes: results.rss.finalBytes,
        });
        log(`rss ${results.rss.baselineBytes} -> ${results.rss.finalBytes}`);
      } finally {
        await srv.proc.stop();
      }
    }
  } finally {
    await env.teardown();
  }
  saveResults('scrape', results);
  writeReport();
}

/**
 * The pod under the Deployment's limits: the full template in a cgroup with the Deployment's memory and
 * CPU limits (deploy/src), idle, then under sustained mixed traffic; memory read as the kubelet reads it.
 */
async function underLimits(env: Awaited<ReturnType<typeof setup>>): Promise<LimitsResults | undefined> {
  const limits = deploymentLimits();
  const cg = createCgroup(`bench-${process.pid}`, limits);
  if (!cg) {
    process.stderr.write('limits: cannot create a cgroup here (root and cgroupfs needed): not measured\n');
    return undefined;
  }
  const template = allVariants().find((v) => v.id === 'template') as Variant;
  try {
    const srv = await startServer(template, env.ctx, 'limits', {}, undefined, cg.wrapper);
    try {
      // The pod after start-up with only its probes: what it holds before traffic.
      await sleep(10_000);
      await probe(srv.url, routePath('item'));
      const idle = { workingSetBytes: cg.workingSet(), rssBytes: readRss(srv.pid) };
      const seconds = num('limits-duration');
      const samples: { seconds: number; bytes: number }[] = [];
      let peakWorkingSetBytes = idle.workingSetBytes;
      const peak = setInterval(() => {
        peakWorkingSetBytes = Math.max(peakWorkingSetBytes, cg.workingSet());
      }, 250);
      const stopRss = sampleRss(srv.pid, Math.max(1, seconds / 30), samples);
      let traffic: LoadResult;
      try {
        const spec = { url: srv.url, path: '/', connections: num('connections'), warmupSeconds: 0 };
        traffic = await load({
          ...spec,
          durationSeconds: seconds,
          randomPaths: { itemId, token: 'not-a-token' },
        });
      } finally {
        clearInterval(peak);
        stopRss();
      }
      const scrapes = await timeScrapes(`${srv.metricsUrl}/metrics`, Math.floor(num('scrapes')));
      const result: LimitsResults = {
        limits,
        cgroupVersion: cg.version,
        idle,
        peakWorkingSetBytes,
        rss: samples,
        load: traffic,
        scrapeMs: scrapes.ms,
        oomKills: cg.oomKills(),
      };
      process.stderr.write(
        `limits: idle ${mib(idle.workingSetBytes)} working set, peak ${mib(peakWorkingSetBytes)}, ${traffic.requests} requests, ${result.oomKills} OOM kills\n`,
      );
      return result;
    } finally {
      await srv.proc.stop();
    }
  } finally {
    cg.remove();
  }
}
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** Longer than the OTel batch processors' schedule delays (5 s spans, 1 s log records). */
const EXPORT_DRAIN_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Under valgrind everything in the server runs ~50x slower, and the template's 150 ms Redis command
 * timeout would expire on the server's own slowness: the limiter would fall back to memory and skip
 * Redis (and its span), which is not the path a request takes in production.
 */
const CALLGRIND_ENV: NodeJS.ProcessEnv = { RATE_LIMIT_REDIS_TIMEOUT_MS: '10000' };

/** The stacks the instruction count covers by default: the same as the throughput table's. */
const INSTRUCTION_VARIANTS = ['node-http', 'bare', 'template-core', 'template', 'naive'];

/**
 * Instructions per request: each stack under callgrind serves warm-up requests (until V8 has
 * compiled the hot path), then the counters are zeroed, a fixed number of requests is served and the
 * counters are dumped once their telemetry has been exported. The same process then sits idle for as
 * long and that is counted too, for the report to show next to the figure, not to subtract from it:
 * besides timers it holds V8's idle-time collection of the requests' garbage, which is request cost.
 */
async function instructions(): Promise<void> {
  const warmupRequests = Math.max(1, Math.floor(num('ir-warmup')));
  const requests = Math.max(1, Math.floor(num('ir-requests')));
  const counts = Math.max(1, Math.floor(num('ir-counts')));
  const connections = 4;
  const variants = chosenVariants(INSTRUCTION_VARIANTS, ['bare']);
  const header = runHeader();
  const env = await setup();
  const results: InstructionResults = {
    kind: 'instructions',
    ...header,
    settings: { warmupRequests, requests, connections },
    runs: [],
  };
  const log = (s: string) => process.stderr.write(`${s}\n`);
  try {
    // Stacks without telemetry repeat their count within 0.5 % (bare Express, node:http): once is enough.
    const countsOf = (v: Variant) =>
      v.kind === 'naive' || (v.kind === 'template' && v.layers === 'all') ? counts : 1;
    for (const [v, count] of variants.flatMap((v) =>
      Array.from({ length: countsOf(v) }, (_, i) => [v, i] as const),
    )) {
      const dir = join(work, `callgrind-${v.id.replace(/\W/g, '_')}-${count}`);
      mkdirSync(dir);
      const t0 = performance.now();
      const srv = await startServer(v, env.ctx, 'callgrind', CALLGRIND_ENV, undefined, [
        'valgrind',
        ...callgrindArgs(dir),
      ]);
      const startSeconds = (performance.now() - t0) / 1000;
      const serverEnv = srv.env;
      try {
        const path = routePath(opt['ir-route'] === 'item' ? 'item' : 'hello');
        await probe(srv.url, path);
        // durationSeconds only bounds the load process's run time here: `requests` ends it.
        const spec = { url: srv.url, path, connections, warmupSeconds: 0, durationSeconds: 1800 };
        await load({ ...spec, requests: warmupRequests });
        // The warm-up's telemetry leaves before counting starts, and the counted requests' telemetry
        // (batched every 5 s for spans, 1 s for log records) leaves before counting stops.
        await sleep(EXPORT_DRAIN_MS);
        await zeroCounters(srv.pid, serverEnv);
        const spansBefore = env.otlp.total('/v1/traces').items;
        const t1 = performance.now();
        const r = await load({ ...spec, requests });
        await sleep(EXPORT_DRAIN_MS);
        const busyMs = performance.now() - t1;
        const busy = await dumpInstructions(srv.pid, serverEnv, dir);
        const spans = env.otlp.total('/v1/traces').items - spansBefore;
        await zeroCounters(srv.pid, serverEnv);
        await sleep(busyMs);
        const idle = await dumpInstructions(srv.pid, serverEnv, dir);
        // Spans arriving after counting stopped would mean export work was left out of the count. A
        // few are the naive stack's own background work (its periodic exports are traced too).
        const late = env.otlp.total('/v1/traces').items - spansBefore - spans;
        if (late > Math.max(10, spans * 0.01))
          throw new Error(`${v.id}: ${late} spans exported after counting stopped`);
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`${v.id}: ${r.non2xx} non-2xx responses and ${r.errors} errors under callgrind`);
        results.runs.push({
          variant: v.id,
          label: v.label,
          route: 'hello',
          requests: r.requests,
          instructions: busy,
          idleInstructions: idle,
          spans,
          seconds: busyMs / 1000,
          startSeconds,
        });
        log(
          `${v.id.padEnd(22)} ${Math.round(busy / r.requests).toLocaleString('en-US')} instructions/request (${r.requests} requests, idle ${idle.toLocaleString('en-US')})`,
        );
      } finally {
        await srv.proc.stop(30_000);
      }
    }
  } finally {
    await env.teardown();
  }
  saveResults('instructions', results);
  writeReport();
}

/** A probe preloaded into a server, and how the orchestrator talks to it (SIGUSR2, answered on stderr). */
interface Probe {
  readonly module: string;
  readonly env: NodeJS.ProcessEnv;
  /** The line the probe prints when the first signal has started it, and when the second has written. */
  readonly started: string;
  readonly written: string;
  readonly writtenTimeoutMs: number;
  readonly load: { connections: number; rate: number; warmupSeconds: number; durationSeconds: number };
}

/**
 * Starts a stack with a probe preloaded, warms it up at a paced rate, then brackets one measured
 * window between the probe's two signals, so the probe sees exactly the requests counted. Also
 * returns the spans the OTLP sink received in the window. The server is stopped whatever happens.
 */
async function probedWindow(
  v: Variant,
  env: Awaited<ReturnType<typeof setup>>,
  p: Probe,
): Promise<{ result: LoadResult; spans: number }> {
  const srv = await startServer(v, env.ctx, 'probe', p.env, undefined, undefined, ['--import', p.module]);
  try {
    const path = routePath('hello');
    await probe(srv.url, path);
    const { connections, rate, warmupSeconds, durationSeconds } = p.load;
    const paced = { url: srv.url, path, connections, rate, warmupSeconds: 0 };
    await load({ ...paced, durationSeconds: warmupSeconds });
    // The listener is in place before the signal, so the probe's answer cannot be missed.
    const signal = (answer: string, timeoutMs: number) => {
      const answered = waitForLine(srv.proc.child, (l) => l === answer, timeoutMs);
      process.kill(srv.pid, 'SIGUSR2');
      return answered;
    };
    await signal(p.started, 10_000);
    const spansBefore = env.otlp.total('/v1/traces').items;
    const result = await load({ ...paced, durationSeconds });
    await signal(p.written, p.writtenTimeoutMs);
    if (result.non2xx > 0 || result.errors > 0)
      throw new Error(`${v.id}: ${result.non2xx} non-2xx responses and ${result.errors} errors`);
    return { result, spans: env.otlp.total('/v1/traces').items - spansBefore };
  } finally {
    await srv.proc.stop();
  }
}

const ALLOC_VARIANTS = ['node-http', 'bare', 'template-core', 'template', 'naive'];

/**
 * Bytes allocated per request: each stack serves the probe route at one fixed rate (below every
 * stack's capacity, so no exporter drops what it would otherwise encode) under V8's sampling heap
 * profiler, which counts objects already collected too. Every byte a request allocates is young-
 * generation space: the more a request allocates, the more often the process stops for a minor
 * collection, and each stop delays every request that arrives meanwhile.
 */
async function allocations(): Promise<void> {
  const rate = num('alloc-rate');
  const warmupSeconds = num('alloc-warmup');
  const durationSeconds = num('alloc-duration');
  const variants = chosenVariants(ALLOC_VARIANTS);
  const header = runHeader();
  const env = await setup();
  const results: AllocationResults = {
    kind: 'alloc',
    ...header,
    settings: { rate, warmupSeconds, durationSeconds, samplingInterval: SAMPLING_INTERVAL },
    runs: [],
  };
  const sampler = join(ROOT, 'bench', 'lib', 'heap-sampler.ts');
  try {
    for (const v of variants) {
      const file = join(work, `alloc-${v.id.replace(/\W/g, '_')}.heapprofile`);
      const { result: r, spans } = await probedWindow(v, env, {
        module: sampler,
        env: { BENCH_HEAP_PROFILE: file },
        started: STARTED,
        written: WRITTEN,
        // Writing a profile of tens of thousands of samples takes seconds.
        writtenTimeoutMs: 60_000,
        load: { connections: 10, rate, warmupSeconds, durationSeconds },
      });
      const summary = summariseAllocations(file, r.requests);
      results.runs.push({ variant: v.id, label: v.label, requests: r.requests, spans, summary });
      process.stderr.write(
        `${v.id.padEnd(22)} ${(summary.bytesPerRequest / 1024).toFixed(1)} KB allocated per request (${r.requests} requests)\n`,
      );
    }
  } finally {
    await env.teardown();
  }
  saveResults('alloc', results);
  writeReport();
}

// Bare Express shows what this host and the load generator stall on their own; the template without
// OTel, what the SDK adds to the full template's; the packaged exporters, what whole-batch encoding changes.
const STALL_VARIANTS = ['bare', 'template', 'template-otel', 'template-whole-batch'];

/**
 * What holds the event loop at the fixed rate of the p99 target: each stack runs under the stall
 * probe (bench/lib/stall-probe.ts), which times every long loop turn, garbage-collection pause and
 * OTLP encoding run, so the report can say what the template's tail is made of. The probe's 1 ms
 * timer costs a little CPU itself; these runs are not the ones the p99 target is read from.
 */
async function stalls(): Promise<void> {
  const last = readJson<ThroughputResults>('throughput.json');
  const rate = opt['stall-rate'] === undefined ? (last?.fixedRate.rate ?? 0) : num('stall-rate');
  if (!(rate > 0))
    throw new Error('--mode=stalls needs --stall-rate, or a throughput run whose fixed rate it reuses');
  const warmupSeconds = num('stall-warmup');
  const durationSeconds = num('stall-duration');
  const connections = rateConnectionsFor(rate);
  const variants = chosenVariants(STALL_VARIANTS);
  const header = runHeader();
  const env = await setup();
  const results: StallResults = {
    kind: 'stalls',
    ...header,
    settings: { rate, connections, warmupSeconds, durationSeconds },
    runs: [],
  };
  const probeModule = join(ROOT, 'bench', 'lib', 'stall-probe.ts');
  try {
    for (const v of variants) {
      const file = join(work, `stalls-${v.id.replace(/\W/g, '_')}.json`);
      const { result: r } = await probedWindow(v, env, {
        module: probeModule,
        env: { BENCH_STALL_FILE: file },
        started: STALL_STARTED,
        written: STALL_WRITTEN,
        writtenTimeoutMs: 10_000,
        load: { connections, rate, warmupSeconds, durationSeconds },
      });
      const summary = summariseStalls(JSON.parse(readFileSync(file, 'utf8')));
      results.runs.push({
        variant: v.id,
        label: v.label,
        requests: r.requests,
        latencyUs: r.latencyUs,
        summary,
      });
      process.stderr.write(
        `${v.id.padEnd(22)} p99 ${r.latencyUs.p99} µs  ${summary.stalls.longPerSecond.toFixed(2)} long stalls/s  gc ${summary.gc.perSecond.toFixed(2)}/s  exports ${(summary.exportSpans.perSecond + summary.exportLogs.perSecond).toFixed(2)}/s\n`,
      );
    }
  } finally {
    await env.teardown();
  }
  saveResults('stalls', results);
  writeReport();
}

/** What every results file starts with; taken before a run starts anything. */
function runHeader(): RunHeader {
  return {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    loadBefore: loadAverage(),
    loadAfter: [],
    pinned: canPin,
    machine: machineInfo(ROOT),
  };
}

/**
 * Stamps the end of a run and writes `<kind>.json`, or `<kind>-baseline.json` for a run kept as the
 * "before tuning" reference.
 */
function saveResults(kind: string, results: RunHeader): void {
  results.finishedAt = new Date().toISOString();
  results.loadAfter = loadAverage();
  const file = opt.baseline ? `${kind}-baseline.json` : `${kind}.json`;
  writeFileSync(join(resultsDir, file), `${JSON.stringify(results, null, 2)}\n`);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeReport(): void {
  const report = renderReport(
    readJson<ThroughputResults>('throughput.json'),
    readJson<ScrapeResults>('scrape.json'),
    readJson<ThroughputResults>('throughput-baseline.json'),
    readJson<InstructionResults>('instructions.json'),
    readJson<InstructionResults>('instructions-baseline.json'),
    readJson<AllocationResults>('alloc.json'),
    readJson<StallResults>('stalls.json'),
    readJson<ThroughputResults>('summary.json'),
  );
  writeFileSync(resolve(opt.out as string), report);
  process.stderr.write(`wrote ${resolve(opt.out as string)}\n`);
}

if (opt.mode === 'throughput') await throughput();
else if (opt.mode === 'scrape') await scrape();
else if (opt.mode === 'instructions') await instructions();
else if (opt.mode === 'alloc') await allocations();
else if (opt.mode === 'stalls') await stalls();
else if (opt.mode === 'summary') await throughput();
else if (opt.mode === 'report') writeReport();
else throw new Error(`unknown --mode ${opt.mode} (throughput, scrape, instructions, alloc, stalls, report)`);
process.exit(0);
