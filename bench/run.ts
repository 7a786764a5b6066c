// `npm run bench -- --mode=...`: runs one mode (docs/performance.md lists them), writes its results to
// bench/results/<mode>.json and renders its report (bench/report.ts); `--mode=report` renders them all.
// Every load is bounded in time, targets only 127.0.0.1, and every process started is stopped.
import { allocations } from './investigate/alloc.ts';
import { instructions } from './investigate/instructions.ts';
import { stalls } from './investigate/stalls.ts';
import { createHarness, type Harness } from './lib/harness.ts';
import { parseOptions, resultsDirOf } from './lib/options.ts';
import { scrape } from './modes/scrape.ts';
import { summary } from './modes/summary.ts';
import { throughput } from './modes/throughput.ts';
import { REPORTS, writeReport } from './report.ts';

const MODES: Readonly<Record<string, (h: Harness) => Promise<void>>> = {
  throughput,
  summary,
  scrape,
  instructions,
  alloc: allocations,
  stalls,
};

const opt = parseOptions(process.argv.slice(2));
const run = MODES[opt.mode];
if (opt.mode !== 'report' && run === undefined)
  throw new Error(`unknown --mode ${opt.mode} (${[...Object.keys(MODES), 'report'].join(', ')})`);
if (run) await run(createHarness(opt));
for (const kind of opt.mode === 'report' ? ['summary', ...Object.keys(REPORTS)] : [opt.mode])
  writeReport(resultsDirOf(opt), opt.out, kind);
process.exit(0);
