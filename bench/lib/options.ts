// The command line of `npm run bench`: every option, its default, and the summary's own defaults.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const ROOT = resolve(import.meta.dirname, '..', '..');

const DEFAULTS = {
  mode: 'throughput',
  rounds: '5',
  // A 1.5 s warm-up charged the template's JIT compilation to its measured window.
  duration: '8',
  warmup: '3',
  connections: '50',
  // Default: one connection per 100 req/s of the fixed rate, at least 10. With 10 at 5,000 req/s each
  // socket had 2 ms per request, and the p99 measured the load generator's queue, not the server.
  'rate-connections': undefined,
  // A new process spends its first ~20 s at the fixed rate compiling and growing its heap: measured apart.
  'rate-first': '5',
  'rate-warmup': '20',
  'rate-duration': '20',
  variants: undefined,
  'rss-duration': '300',
  // The template's RSS rose in one step 50-150 s into the traffic (the heap reaching its working
  // size) and stayed flat after; the report prints the curve from the start of the warm-up.
  'rss-warmup': '120',
  scrapes: '200',
  'label-sets': '2000',
  'ir-warmup': '1000',
  'ir-requests': '1000',
  // A stack with telemetry on is counted this many times (each in a new process): its count moves
  // with when its garbage collections and export batches fall (seen: ±9 % for the template).
  'ir-counts': '3',
  'ir-route': 'hello',
  'alloc-rate': '300',
  'alloc-warmup': '10',
  'alloc-duration': '10',
  // Default: the fixed rate of the last throughput (or summary) run.
  'stall-rate': undefined,
  'stall-warmup': '20',
  'stall-duration': '20',
  'results-dir': join(ROOT, 'bench', 'results'),
  out: join(ROOT, 'BENCHMARKS.md'),
  'limits-duration': '90',
  'cpu-prof': undefined,
  profile: 'template',
} satisfies Record<string, string | undefined>;

// The summary's plan: 3 rounds, the fixed rate without its first-seconds window and shorter.
const SUMMARY_DEFAULTS: Partial<typeof DEFAULTS> = {
  rounds: '3',
  'rate-first': '0',
  'rate-warmup': '8',
  'rate-duration': '12',
};

export type Options = { -readonly [K in keyof typeof DEFAULTS]: string | undefined } & {
  readonly mode: string;
  readonly 'results-dir': string;
  readonly out: string;
  readonly profile: string;
};

export function parseOptions(args: readonly string[]): Options {
  const spec = Object.fromEntries(Object.keys(DEFAULTS).map((k) => [k, { type: 'string' as const }]));
  const { values } = parseArgs({ args: [...args], options: spec, strict: true });
  const defaults = values.mode === 'summary' ? { ...DEFAULTS, ...SUMMARY_DEFAULTS } : DEFAULTS;
  return { ...defaults, ...values } as Options;
}

/** A non-negative number option (`floor`: a count, at least `min`). */
export function num(o: Options, name: keyof Options, floor?: { min: number }): number {
  const n = Number(o[name]);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
  return floor ? Math.max(floor.min, Math.floor(n)) : n;
}

export const resultsDirOf = (o: Options) => resolve(o['results-dir']);
