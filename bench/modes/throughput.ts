// `--mode=throughput` (the default): every stack and layer at saturation, interleaved rounds, then the
// fixed rate and one CPU profile; writes throughput.json and throughput.md.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Env, Harness } from '../lib/harness.ts';
import { fix, int, machineLines, pct, range, table } from '../lib/markdown.ts';
import { summariseProfile } from '../lib/profile.ts';
import {
  type LimitsResults,
  profilesOf,
  type Route,
  rowOf,
  rows,
  type SinkTotals,
  type ThroughputResults,
} from '../lib/results.ts';
import type { Variant } from '../lib/variants.ts';
import { fixedRate, fixedRateTable } from './fixed-rate.ts';

export interface Plan {
  readonly variants: Variant[];
  readonly profileRoutes: readonly Route[];
  /** Run after everything else, on the same sinks and Redis (the summary's pod under its limits). */
  readonly limits?: (env: Env) => Promise<LimitsResults | undefined>;
}

export async function throughput(h: Harness): Promise<void> {
  // Bare Express always stays in: every ratio needs it.
  const results = await runThroughput(h, { variants: h.variants('all', ['bare']), profileRoutes: ['hello'] });
  h.save('throughput', results);
  failOnNon2xx(results);
}

export async function runThroughput(h: Harness, plan: Plan): Promise<ThroughputResults> {
  const settings = {
    rounds: h.num('rounds', { min: 1 }),
    durationSeconds: h.num('duration'),
    warmupSeconds: h.num('warmup'),
    connections: h.num('connections', { min: 1 }),
  };
  const results: ThroughputResults = {
    kind: 'throughput',
    ...h.header(),
    settings: {
      ...settings,
      rateConnections: 0,
      rateFirstSeconds: 0,
      rateWarmupSeconds: 0,
      rateDurationSeconds: 0,
    },
    variants: plan.variants.map(({ id, label, group, layers, description }) => ({
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
  const env = await h.setup();
  try {
    for (let round = 0; round < settings.rounds; round++)
      // Interleaved: every round visits every stack, each round starting one place later.
      for (const v of plan.variants.map((_, i, all) => all[(i + round) % all.length] as Variant)) {
        const before = sinkCounts(env);
        let served = 0;
        const srv = await env.start(v, `r${round}`);
        try {
          for (const route of v.routes) {
            const path = h.routePath(route);
            await h.probe(srv.url, path);
            const r = await h.measure(srv, { url: srv.url, path, ...settings });
            results.runs.push({ variant: v.id, route, round, result: r });
            served += r.served + 1;
            process.stderr.write(
              `round ${round + 1}/${settings.rounds} ${v.id.padEnd(22)} ${route.padEnd(5)} ${Math.round(r.rps).toString().padStart(6)} req/s  cpu ${r.cpuUsPerRequest.toFixed(1)} µs/req  p50 ${r.latencyUs.p50} µs  p99 ${r.latencyUs.p99} µs\n`,
            );
          }
        } finally {
          await srv.proc.stop();
        }
        const after = sinkCounts(env);
        const s = results.sinks[v.id] ?? { ...ZERO_SINKS };
        results.sinks[v.id] = s;
        for (const k of Object.keys(after) as (keyof SinkTotals)[]) s[k] += after[k] - before[k];
        s.served += served;
      }
    await fixedRate(h, env, plan.variants, results);
    const profiled = plan.variants.find((v) => v.id === h.opt.profile);
    if (profiled) {
      results.profiles = [];
      for (const route of plan.profileRoutes)
        results.profiles.push(await profile(h, env, profiled, route, settings));
    }
    if (plan.limits) {
      const limits = await plan.limits(env);
      if (limits) results.limits = limits;
    }
  } finally {
    await env.teardown();
  }
  return results;
}

const ZERO_SINKS: SinkTotals = {
  otlpRequests: 0,
  otlpBytes: 0,
  sentryRequests: 0,
  sentryBytes: 0,
  served: 0,
  spans: 0,
  logRecords: 0,
};

function sinkCounts(env: Env): SinkTotals {
  const [otlp, sentry] = [env.otlp.total(), env.sentry.total()];
  return {
    ...ZERO_SINKS,
    otlpRequests: otlp.requests,
    otlpBytes: otlp.bytes,
    sentryRequests: sentry.requests,
    sentryBytes: sentry.bytes,
    spans: env.otlp.total('/v1/traces').items,
    logRecords: env.otlp.total('/v1/logs').items,
  };
}

/** One more run under V8's sampling profiler (not in the tables: the profiler costs a little itself). */
async function profile(
  h: Harness,
  env: Env,
  v: Variant,
  route: Route,
  s: { warmupSeconds: number; durationSeconds: number; connections: number },
): Promise<NonNullable<ThroughputResults['profile']>> {
  const dir = join(h.work, `profile-${v.id}-${route}`);
  const srv = await env.start(v, 'profile', { profileTo: dir });
  const spec = { url: srv.url, path: h.routePath(route), connections: s.connections, warmupSeconds: 0 };
  // CLOCK_MONOTONIC µs, as V8 stamps the samples: only the measured window's count.
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  const window = { fromUs: 0, toUs: 0 };
  try {
    if (s.warmupSeconds > 0) await h.load({ ...spec, durationSeconds: s.warmupSeconds });
    window.fromUs = nowUs();
    await h.load({ ...spec, durationSeconds: s.durationSeconds });
    window.toUs = nowUs();
  } finally {
    await srv.proc.stop();
  }
  // The main thread's profile: thread id 0 in CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile.
  const main = readdirSync(dir).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (!main) throw new Error(`no main-thread CPU profile in ${dir}: ${readdirSync(dir).join(', ')}`);
  return { variant: v.id, route, ...summariseProfile(join(dir, main), 30, window) };
}

export function failOnNon2xx(t: ThroughputResults): void {
  const wrong = [...t.runs, ...t.fixedRate.runs].filter((r) => r.result.non2xx > 0);
  if (wrong.length > 0)
    throw new Error(
      `non-2xx responses in ${wrong.map((r) => `${r.variant}/${r.route}#${r.round}`).join(', ')}`,
    );
}

export const labelOf = (t: ThroughputResults, id: string) => t.variants.find((v) => v.id === id)?.label ?? id;

/** The stacks of one group (bare Express first, as the reference) on one route. */
export function stackTable(t: ThroughputResults, group: 'stack' | 'layer', route: Route): string[] {
  const all = rows(t.runs);
  const bare = rowOf(all, 'bare', route)?.rps.median ?? Number.NaN;
  const ids = t.variants.filter((v) => v.group === group || v.id === 'bare').map((v) => v.id);
  return table(
    'stack | req/s (median) | req/s min–max | % of bare | server CPU µs per request | p50 µs | p99 µs (median, min–max)',
    ids.flatMap((id) => {
      const r = rowOf(all, id, route);
      if (!r) return [];
      return `${labelOf(t, id)} | ${int(r.rps.median)} | ${range(r.rps)} | ${pct(r.rps.median / bare)} | ${fix(r.cpu.median)} | ${int(r.p50.median)} | ${int(r.p99.median)} (${range(r.p99)})`;
    }),
  );
}

/** The full configuration minus one layer: what that layer costs where it really runs. */
function withoutTable(t: ThroughputResults): string[] {
  const all = rows(t.runs);
  const bare = rowOf(all, 'bare')?.rps.median ?? Number.NaN;
  const full = rowOf(all, 'template')?.cpu.median ?? Number.NaN;
  return table(
    'stack | req/s (median) | % of bare | server CPU µs per request | µs saved vs full | p99 µs (median)',
    t.variants.flatMap(({ id, group }) => {
      const r = group === 'without' ? rowOf(all, id) : undefined;
      if (!r) return [];
      return `${labelOf(t, id)} | ${int(r.rps.median)} | ${pct(r.rps.median / bare)} | ${fix(r.cpu.median)} | ${fix(full - r.cpu.median)} | ${int(r.p99.median)}`;
    }),
  );
}

/** Counted by the local sinks: proof the exporters were on (spans per request below one: dropped). */
export function sinksTable(t: ThroughputResults): string[] {
  return table(
    'stack | requests served | OTLP exports | spans per request | log records per request | OTLP bytes | Sentry envelopes',
    Object.entries(t.sinks).map(
      ([id, x]) =>
        `${labelOf(t, id)} | ${int(x.served)} | ${int(x.otlpRequests)} | ${fix(x.spans / x.served, 2)} | ${fix(x.logRecords / x.served, 2)} | ${int(x.otlpBytes)} | ${int(x.sentryRequests)}`,
    ),
  );
}

/** The profile by cost centre (µs: share of busy time × the stack's CPU per request), package, function. */
function profileTables(t: ThroughputResults): string[] {
  return profilesOf(t).flatMap((p) => profileTable(t, p));
}

function profileTable(t: ThroughputResults, p: ReturnType<typeof profilesOf>[number]): string[] {
  const cpu = rowOf(rows(t.runs), p.variant, p.route as Route)?.cpu.median ?? Number.NaN;
  const shares = (xs: readonly { name: string; share: number }[]) =>
    xs.slice(0, 20).map((x) => `\`${x.name.replace(/\|/g, '\\|')}\` | ${pct(x.share)}`);
  return [
    `## Where the time goes: ${labelOf(t, p.variant)}, ${p.route} route (${fix(p.totalMs / 1000)} s of busy CPU)`,
    '',
    ...table(
      'cost centre | share of CPU | ≈ µs per request',
      (p.byCentre ?? []).map((x) => `${x.name} | ${pct(x.share)} | ${fix(x.share * cpu)}`),
    ),
    ...table('package | share of CPU', shares(p.byPackage)),
    ...table('function | share of CPU', shares(p.byFunction)),
  ];
}

/** Warnings for rows with non-2xx answers or connection errors. */
export function warnings(t: ThroughputResults): string[] {
  const bad = rows(t.runs).filter((r) => r.non2xx > 0 || r.errors > 0);
  return bad.length === 0
    ? []
    : [
        `**Warning:** non-2xx responses or connection errors in: ${bad.map((r) => `${r.variant}/${r.route} (${r.non2xx} non-2xx, ${r.errors} errors)`).join(', ')}.`,
        '',
      ];
}

export function settingsLine(t: ThroughputResults): string {
  const s = t.settings;
  return `${s.connections} connections, ${s.warmupSeconds} s warm-up then ${s.durationSeconds} s measured, medians of ${s.rounds} interleaved rounds; run of ${t.startedAt.slice(0, 10)}, commit ${t.machine.commit}`;
}

export function throughputReport(t: ThroughputResults): string[] {
  return [
    '# Throughput (`npm run bench`)',
    '',
    `${settingsLine(t)}.`,
    '',
    ...machineLines(t),
    '## Stacks, probe route (`GET /api/v1/hello`)',
    '',
    ...stackTable(t, 'stack', 'hello'),
    '## Each layer alone (template, probe route)',
    '',
    ...stackTable(t, 'layer', 'hello'),
    '## Each layer inside the full stack (full configuration minus that layer, probe route)',
    '',
    ...withoutTable(t),
    '## The real route: `GET /api/v1/items/:id` (SQLite)',
    '',
    ...stackTable(t, 'stack', 'item'),
    ...fixedRateTable(t),
    '## Telemetry that left the process',
    '',
    ...sinksTable(t),
    ...profileTables(t),
    '## The stacks',
    '',
    ...t.variants.map((v) => `- **${v.label}** (\`${v.id}\`): ${v.description}`),
    '',
    ...warnings(t),
  ];
}
