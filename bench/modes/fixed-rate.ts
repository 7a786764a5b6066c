// The fixed rate: half the template's capacity (from the saturation rounds just run), open-loop, each
// stack started afresh every round; the p99 target is read here. Part of the throughput and summary modes.
import type { Env, Harness } from '../lib/harness.ts';
import { fix, int, pct, range, table } from '../lib/markdown.ts';
import { type Run, rowOf, rows, type ThroughputResults } from '../lib/results.ts';
import type { Variant } from '../lib/variants.ts';

// The template without OTel shows what the p99 owes to the SDK; under V8's default pretenuring, what
// the start command's GC flag changes; with the packaged exporters, what whole-batch encoding adds.
const FIXED_RATE_STACKS = [
  'node-http',
  'bare',
  'template',
  'template-otel',
  'template-v8-pretenuring',
  'template-whole-batch',
];

export async function fixedRate(
  h: Harness,
  env: Env,
  variants: readonly Variant[],
  results: ThroughputResults,
): Promise<void> {
  const tmpl = results.runs.filter((r) => r.variant === 'template' && r.route === 'hello');
  const capacity = tmpl.map((r) => r.result.rps).sort((a, b) => a - b)[Math.floor(tmpl.length / 2)] ?? 0;
  const rate = Math.max(10, Math.round(capacity / 2));
  const s = Object.assign(results.settings, {
    rateConnections: h.rateConnections(rate),
    rateFirstSeconds: h.num('rate-first'),
    rateWarmupSeconds: h.num('rate-warmup'),
    rateDurationSeconds: h.num('rate-duration'),
  });
  const firstRuns: Run[] = [];
  results.fixedRate = { rate, runs: [], firstRuns };
  const atRate = variants.filter((v) => FIXED_RATE_STACKS.includes(v.id));
  for (let round = 0; round < s.rounds; round++)
    for (const v of atRate.map((_, i) => atRate[(i + round) % atRate.length] as Variant)) {
      const srv = await env.start(v, `rate-r${round}`);
      try {
        const path = h.routePath('hello');
        await h.probe(srv.url, path);
        const paced = { url: srv.url, path, connections: s.rateConnections, rate };
        // The first seconds of a new process, then (after the warm-up) the settled process.
        if (s.rateFirstSeconds > 0) {
          const first = await h.measure(srv, {
            ...paced,
            warmupSeconds: 0,
            durationSeconds: s.rateFirstSeconds,
          });
          firstRuns.push({ variant: v.id, route: 'hello', round, result: first });
        }
        const r = await h.measure(srv, {
          ...paced,
          warmupSeconds: s.rateWarmupSeconds,
          durationSeconds: s.rateDurationSeconds,
        });
        results.fixedRate.runs.push({ variant: v.id, route: 'hello', round, result: r });
        process.stderr.write(
          `fixed rate ${rate}/s round ${round + 1}/${s.rounds} ${v.id.padEnd(10)} p50 ${r.latencyUs.p50} µs  p99 ${r.latencyUs.p99} µs  cpu ${r.cpuUsPerRequest.toFixed(1)} µs/req  ${r.switchesPerRequest.toFixed(2)} switches/req\n`,
        );
      } finally {
        await srv.proc.stop();
      }
    }
}

/** Major collections per run and the mean minor pause, for a stack whose /metrics was read. */
function gcCells(runs: readonly Run[]): string {
  const gcs = runs.flatMap((r) => (r.result.gc ? [r.result.gc] : []));
  if (gcs.length === 0) return '– | –';
  const minor = gcs.reduce(
    (a, g) => ({ count: a.count + (g.minor?.count ?? 0), seconds: a.seconds + (g.minor?.seconds ?? 0) }),
    { count: 0, seconds: 0 },
  );
  return `${gcs.map((g) => g.major?.count ?? 0).join(', ')} | ${fix((minor.seconds / minor.count) * 1000, 2)}`;
}

/**
 * Each stack at the fixed rate next to its CPU at saturation: a request costs more CPU at a moderate
 * rate (its own wake-up and system calls), so "half the capacity" loads the core more than half.
 */
export function fixedRateTable(t: ThroughputResults): string[] {
  const s = t.settings;
  const [saturation, fixed, first] = [
    rows(t.runs),
    rows(t.fixedRate.runs),
    rows(t.fixedRate.firstRuns ?? []),
  ];
  // The summary runs no first-seconds window: its column is left out.
  const firstHead = first.length > 0 ? ` | p99 µs in the first ${s.rateFirstSeconds} s` : '';
  return [
    `## Fixed rate: ${int(t.fixedRate.rate)} req/s (half the template's capacity), ${s.rateConnections} connections, ${s.rateWarmupSeconds} s warm-up then ${s.rateDurationSeconds} s measured`,
    '',
    ...table(
      `stack | p50 µs (median) | p99 µs (median) | p99 min–max${firstHead} | server CPU µs per request | at saturation | × | core busy | context switches per request | major GCs in the window (per run) | minor GC mean pause ms`,
      t.variants.flatMap(({ id, label }) => {
        const r = rowOf(fixed, id);
        if (!r) return [];
        const sat = rowOf(saturation, id)?.cpu.median ?? Number.NaN;
        const firstCell = first.length > 0 ? ` | ${int(rowOf(first, id)?.p99.median ?? Number.NaN)}` : '';
        const busy = (t.fixedRate.rate * r.cpu.median) / 1e6;
        return `${label} | ${int(r.p50.median)} | ${int(r.p99.median)} | ${range(r.p99)}${firstCell} | ${fix(r.cpu.median)} | ${fix(sat)} | ${fix(r.cpu.median / sat, 2)} | ${pct(busy)} | ${fix(r.switches.median, 2)} | ${gcCells(t.fixedRate.runs.filter((x) => x.variant === id))}`;
      }),
    ),
  ];
}
