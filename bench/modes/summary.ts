// `--mode=summary`: the targets alone (bare, template, naive; the fixed rate; a profile of each
// route; the pod under the Deployment's limits); writes summary.json and BENCHMARKS.md from it.
import type { Harness } from '../lib/harness.ts';
import { fix, int, machineLines, mib, pct, table, verdict } from '../lib/markdown.ts';
import { COST_CENTRES } from '../lib/profile.ts';
import { profilesOf, type Route, type Row, rowOf, rows, type ThroughputResults } from '../lib/results.ts';
import { type Spread, spread } from '../lib/stats.ts';
import { fixedRateTable } from './fixed-rate.ts';
import { underLimits } from './soak.ts';
import { failOnNon2xx, runThroughput, settingsLine, sinksTable, stackTable, warnings } from './throughput.ts';

export async function summary(h: Harness): Promise<void> {
  const results = await runThroughput(h, {
    variants: h.variants(['template', 'naive'], ['bare']),
    profileRoutes: ['item', 'hello'],
    limits: (env) => underLimits(h, env),
  });
  h.save('summary', results);
  failOnNon2xx(results);
}

/** Bare Express's spread from round to round, as a share of its median: this run's host noise. */
const moved = (x: Spread) => (x.max - x.min) / x.median;
const NOISY = 0.05;

/** The targets with verdicts, each ratio with bare Express's own spread beside it. */
function targetsTable(t: ThroughputResults): string[] {
  const all = rows(t.runs);
  const get = (v: string, route: Route = 'hello') => rowOf(all, v, route);
  const ratio = (route: Route) =>
    (get('template', route)?.rps.median ?? Number.NaN) / (get('bare', route)?.rps.median ?? Number.NaN);
  const met = (x: number, ok: (x: number) => boolean) => verdict(Number.isFinite(x) ? ok(x) : undefined);
  const bareCell = (r: Row | undefined) =>
    r
      ? `${int(r.rps.min)}–${int(r.rps.max)} req/s, ${fix(r.cpu.min)}–${fix(r.cpu.max)} µs (${pct(moved(r.rps))}${moved(r.rps) > NOISY ? ' **noisy**' : ''})`
      : '–';
  // CPU per request moves much less than req/s on a shared host: its ratio is shown beside.
  const cpuCell = (route: Route) => {
    const [tc, bc] = [
      get('template', route)?.cpu.median ?? Number.NaN,
      get('bare', route)?.cpu.median ?? Number.NaN,
    ];
    return `by CPU ${pct(bc / tc)}: ${fix(tc)} vs ${fix(bc)} µs/request`;
  };
  const fixed = rows(t.fixedRate.runs);
  const fixedBare = rowOf(fixed, 'bare');
  const p99 = (rowOf(fixed, 'template')?.p99.median ?? Number.NaN) / (fixedBare?.p99.median ?? Number.NaN);
  const naive = (get('template')?.rps.median ?? Number.NaN) / (get('naive')?.rps.median ?? Number.NaN);
  const lim = t.limits;
  const limit = lim?.limits.memoryBytes ?? Number.NaN;
  const idle = lim?.idle.workingSetBytes ?? Number.NaN;
  const peak = lim?.peakWorkingSetBytes ?? Number.NaN;
  const scrapeMs = spread(lim?.scrapeMs ?? []).median;
  // RSS over the last two thirds of the traffic: the first third holds the heap's growth to its working size.
  const third = lim?.rss.find((x) => x.seconds >= (lim.rss.at(-1)?.seconds ?? 0) / 3);
  const rssChange = (lim?.rss.at(-1)?.bytes ?? Number.NaN) / (third?.bytes ?? Number.NaN) - 1;
  const limitsCell = lim ? `${mib(limit)}, ${lim.limits.cpus} CPU, cgroup v${lim.cgroupVersion}` : 'not run';
  const traffic = `${int(lim?.load.requests ?? Number.NaN)} requests, ${lim?.oomKills ?? '–'} OOM kills`;
  const head = 'target | measured | bare Express in this run (min–max, spread) | verdict';
  return table(
    head,
    [
      `item route (SQLite) ≥ 50 % of bare req/s (≈ 110 µs CPU/request) | ${pct(ratio('item'))} of req/s (${cpuCell('item')}) | ${bareCell(get('bare', 'item'))} | ${met(ratio('item'), (x) => x >= 0.5)}`,
      `probe route ≥ 40 % of bare req/s | ${pct(ratio('hello'))} of req/s (${cpuCell('hello')}) | ${bareCell(get('bare'))} | ${met(ratio('hello'), (x) => x >= 0.4)}`,
      `p99 at half the template's capacity (${int(t.fixedRate.rate)} req/s) ≤ 3× bare at that rate | ${fix(p99, 2)}× | ${fixedBare ? `p99 ${int(fixedBare.p99.min)}–${int(fixedBare.p99.max)} µs` : '–'} | ${met(p99, (x) => x <= 3)}`,
      `idle memory under the Deployment's limits (${limitsCell}) ≤ 128 MiB | ${mib(idle)} working set (RSS ${mib(lim?.idle.rssBytes ?? Number.NaN)}) | – | ${met(idle, (x) => x <= 128 * 2 ** 20)}`,
      `peak under sustained load ≤ 60 % of the limit (${mib(limit * 0.6)}) | ${mib(peak)} (${pct(peak / limit)}; ${traffic}) | – | ${met(peak / limit, (x) => x <= 0.6)}`,
      `≥ 5× the naive stack (probe route) | ${fix(naive, 2)}× | – | ${met(naive, (x) => x >= 5)}`,
      `\`/metrics\` ≤ 10 ms | ${fix(scrapeMs, 2)} ms | – | ${met(scrapeMs, (x) => x <= 10)}`,
      `RSS flat (±10 %) over the last two thirds of ${fix(lim?.load.seconds ?? Number.NaN, 0)} s of mixed traffic under the limits | ${pct(rssChange)} | – | ${met(rssChange, (x) => Math.abs(x) <= 0.1)}`,
    ],
    'lrll',
  );
}

/** The template's CPU per request split by the promise each piece of work keeps (the profile's cost centres). */
function promisesTables(t: ThroughputResults): string[] {
  return profilesOf(t).flatMap((p) => promisesTable(t, p));
}

function promisesTable(t: ThroughputResults, p: ReturnType<typeof profilesOf>[number]): string[] {
  if (!p.byCentre) return [];
  const route = p.route as Route;
  const cpu = rowOf(rows(t.runs), 'template', route)?.cpu.median ?? Number.NaN;
  const bare = rowOf(rows(t.runs), 'bare', route)?.cpu.median ?? Number.NaN;
  return [
    `Which promise holds each microsecond of the template's ${fix(cpu)} µs on the ${route === 'item' ? 'item' : 'probe'} route (share of the CPU profile's busy time × that figure); bare Express: ${fix(bare)} µs.`,
    '',
    ...table(
      'work | promise it keeps | µs per request',
      p.byCentre.map(
        (c) =>
          `${c.name} | ${COST_CENTRES.find((x) => x.name === c.name)?.promise ?? '(bare Express does this too)'} | ${fix(c.share * cpu)}`,
      ),
      'll',
    ),
  ];
}

export function benchmarksReport(t: ThroughputResults): string[] {
  const noisy = (['item', 'hello'] as const).some((r) => {
    const b = rowOf(rows(t.runs), 'bare', r);
    return b !== undefined && moved(b.rps) > NOISY;
  });
  return [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench -- --mode=summary` (and `--mode=report`) from bench/results/summary.json; do not edit by hand. -->',
    '',
    "What the template's observability and hardening cost per request, against bare Express 5 and the same libraries wired by their READMEs' defaults, on one machine in one run. How it is measured, what was tuned and the other modes: [docs/performance.md](docs/performance.md).",
    '',
    '## Summary',
    '',
    `The full template with the pod's environment (deploy/src, local addresses only), against bare Express 5 on one pinned core: ${settingsLine(t)}, Node.js ${t.machine.node}.${noisy ? ` **Bare Express moved more than ${pct(NOISY)} from round to round: the host was noisy, read the ratios as a range.**` : ''}`,
    '',
    ...targetsTable(t),
    ...promisesTables(t),
    '## Stacks, probe route (`GET /api/v1/hello`)',
    '',
    ...stackTable(t, 'stack', 'hello'),
    '## The real route: `GET /api/v1/items/:id` (SQLite)',
    '',
    ...stackTable(t, 'stack', 'item'),
    ...fixedRateTable(t),
    '## Telemetry that left the process',
    '',
    ...sinksTable(t),
    '## Machine',
    '',
    ...machineLines(t),
    ...warnings(t),
  ];
}
