// `--mode=instructions`: instructions per request under valgrind's callgrind, a cost the host's noise
// does not move (bare Express counted twice: 0.1 % apart). No npm package drives callgrind: valgrind's
// `vgdb` sends `zero` and `dump` to the running process (callgrind_control finds processes by their
// command line and missed the template's). vgdb finds a process's FIFOs by names valgrind built from
// its USER and HOST variables (the template's HOST is its listen address): it runs with the same two.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Harness, sleep } from '../lib/harness.ts';
import { fix, int, pct, range, table } from '../lib/markdown.ts';
import type { RunHeader } from '../lib/results.ts';
import { median, type Spread, spread } from '../lib/stats.ts';
import type { Variant } from '../lib/variants.ts';

const run = promisify(execFile);

/** valgrind's arguments before the program: every thread of the process counted into one file. */
function callgrindArgs(outDir: string): string[] {
  return ['--tool=callgrind', `--callgrind-out-file=${join(outDir, 'callgrind.%p')}`];
}

/** The environment a vgdb command needs to reach a process started with `serverEnv`. */
function vgdbEnv(serverEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (serverEnv.USER !== undefined) env.USER = serverEnv.USER;
  if (serverEnv.HOST !== undefined) env.HOST = serverEnv.HOST;
  return env;
}

/** Zeroes the counters of a process running under callgrind; resolves once callgrind has done it. */
async function zeroCounters(pid: number, serverEnv: NodeJS.ProcessEnv): Promise<void> {
  await run('vgdb', [`--pid=${pid}`, 'zero'], { timeout: 120_000, env: vgdbEnv(serverEnv) });
}

/**
 * Dumps the counters since the last zero and returns the instructions executed (Ir) in that span.
 * Each dump is a new file `callgrind.<pid>.<n>`; the newest one is this dump.
 */
async function dumpInstructions(pid: number, serverEnv: NodeJS.ProcessEnv, outDir: string): Promise<number> {
  await run('vgdb', [`--pid=${pid}`, 'dump'], { timeout: 120_000, env: vgdbEnv(serverEnv) });
  const prefix = `callgrind.${pid}.`;
  const dumps = readdirSync(outDir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => ({ f, n: Number(f.slice(prefix.length)) }))
    .filter((d) => Number.isInteger(d.n))
    .sort((a, b) => b.n - a.n);
  const newest = dumps[0];
  if (!newest)
    throw new Error(`callgrind wrote no dump for pid ${pid} in ${outDir}: ${readdirSync(outDir).join(', ')}`);
  const m = /^summary:\s+(\d+)/m.exec(readFileSync(join(outDir, newest.f), 'utf8'));
  if (!m) throw new Error(`no summary line in ${newest.f}`);
  return Number(m[1]);
}

export interface InstructionResults extends RunHeader {
  kind: 'instructions';
  settings: { warmupRequests: number; requests: number; connections: number };
  runs: {
    variant: string;
    label: string;
    route: 'hello';
    requests: number;
    /** Instructions (callgrind Ir, every thread) from the first to the last measured request. */
    instructions: number;
    /** Instructions over the same wall time with no requests afterwards (shown, not subtracted). */
    idleInstructions: number;
    /** Spans the OTLP sink received for the counted requests (proof the export was counted). */
    spans: number;
    seconds: number;
    startSeconds: number;
  }[];
}

/** Longer than the OTel batch processors' schedule delays (5 s spans, 1 s log records). */
const EXPORT_DRAIN_MS = 10_000;
// ~50x slower under valgrind: the 150 ms Redis timeout would expire on the server's own slowness and
// the limiter would skip Redis, which is not the path a request takes in production.
const CALLGRIND_ENV: NodeJS.ProcessEnv = { RATE_LIMIT_REDIS_TIMEOUT_MS: '10000' };
const VARIANTS = ['node-http', 'bare', 'template-core', 'template', 'naive'];

/**
 * Each stack under callgrind serves warm-up requests, then the counters are zeroed, a fixed number of
 * requests is served and the counters dumped once their telemetry has been exported; the same process
 * then idles as long and is counted again (shown beside: V8 collects the requests' garbage when idle).
 */
export async function instructions(h: Harness): Promise<void> {
  const warmupRequests = h.num('ir-warmup', { min: 1 });
  const requests = h.num('ir-requests', { min: 1 });
  const counts = h.num('ir-counts', { min: 1 });
  const connections = 4;
  const results: InstructionResults = {
    kind: 'instructions',
    ...h.header(),
    settings: { warmupRequests, requests, connections },
    runs: [],
  };
  const env = await h.setup();
  try {
    // Stacks without telemetry repeat their count within 0.5 %: once is enough.
    const countsOf = (v: Variant) =>
      v.kind === 'naive' || (v.kind === 'template' && v.layers === 'all') ? counts : 1;
    for (const [v, count] of h
      .variants(VARIANTS, ['bare'])
      .flatMap((v) => Array.from({ length: countsOf(v) }, (_, i) => [v, i] as const))) {
      const dir = join(h.work, `callgrind-${v.id.replace(/\W/g, '_')}-${count}`);
      mkdirSync(dir);
      const t0 = performance.now();
      const srv = await env.start(v, 'callgrind', {
        env: CALLGRIND_ENV,
        wrapper: ['valgrind', ...callgrindArgs(dir)],
      });
      const startSeconds = (performance.now() - t0) / 1000;
      try {
        const path = h.routePath(h.opt['ir-route'] === 'item' ? 'item' : 'hello');
        await h.probe(srv.url, path);
        // durationSeconds only bounds the load process's run time here: `requests` ends it.
        const spec = { url: srv.url, path, connections, warmupSeconds: 0, durationSeconds: 1800 };
        await h.load({ ...spec, requests: warmupRequests });
        // The warm-up's telemetry leaves before counting starts, the counted requests' before it stops.
        await sleep(EXPORT_DRAIN_MS);
        await zeroCounters(srv.pid, srv.env);
        const spansBefore = env.otlp.total('/v1/traces').items;
        const t1 = performance.now();
        const r = await h.load({ ...spec, requests });
        await sleep(EXPORT_DRAIN_MS);
        const busyMs = performance.now() - t1;
        const busy = await dumpInstructions(srv.pid, srv.env, dir);
        const spans = env.otlp.total('/v1/traces').items - spansBefore;
        await zeroCounters(srv.pid, srv.env);
        await sleep(busyMs);
        const idle = await dumpInstructions(srv.pid, srv.env, dir);
        // Spans after counting stopped: export work left out of the count (a few are the naive
        // stack's own periodic exports, traced too).
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
        process.stderr.write(
          `${v.id.padEnd(22)} ${Math.round(busy / r.requests).toLocaleString('en-US')} instructions/request (idle ${idle.toLocaleString('en-US')})\n`,
        );
      } finally {
        await srv.proc.stop(30_000);
      }
    }
  } finally {
    await env.teardown();
  }
  h.save('instructions', results);
}

/** One stack's instructions per request over its counts (each in a new process); NaN when not counted. */
export const instructionCounts = (r: InstructionResults, variant: string): Spread =>
  spread(r.runs.filter((x) => x.variant === variant).map((x) => x.instructions / x.requests));

export function instructionSection(ir: InstructionResults): string[] {
  const bare = instructionCounts(ir, 'bare').median;
  const template = instructionCounts(ir, 'template');
  const repeated = Math.max(...ir.runs.map((r) => ir.runs.filter((x) => x.variant === r.variant).length));
  const body = [...new Set(ir.runs.map((r) => r.variant))].map((variant) => {
    const runs = ir.runs.filter((r) => r.variant === variant);
    const c = instructionCounts(ir, variant);
    const perRequest = (f: (r: (typeof runs)[number]) => number) =>
      median(runs.map((r) => f(r) / r.requests));
    const counts = c.n > 1 ? `${range(c)} (${c.n})` : '–';
    return `${runs[0]?.label} | ${int(c.median)} | ${counts} | ${fix(c.median / bare, 2)} | ${pct(bare / c.median)} | ${fix(
      perRequest((r) => r.spans),
      2,
    )} | ${int(perRequest((r) => r.idleInstructions))}`;
  });
  const out = [
    `## Instructions per request (callgrind): ${int(ir.settings.warmupRequests)} warm-up then ${int(ir.settings.requests)} counted requests, ${ir.settings.connections} connections; run of ${ir.startedAt.slice(0, 10)}, commit ${ir.machine.commit}`,
    '',
    repeated > 1
      ? `Stacks with telemetry on were counted ${repeated} times, each in a new process: median and range.`
      : 'Each stack was counted once.',
    '',
    ...table(
      'stack | instructions per request | counts (min–max) | × bare Express | bare ÷ stack | spans exported per request | idle afterwards, per request',
      body,
    ),
  ];
  if (Number.isFinite(template.median) && Number.isFinite(bare))
    out.push(
      `By this count the full template does ${fix(template.median / bare, 1)}× the work of bare Express per request${template.n > 1 ? ` (${fix(template.min / bare, 1)}–${fix(template.max / bare, 1)}× over its ${template.n} counts)` : ''}.`,
      '',
    );
  return out;
}
