// Renders the reports from the JSON runs wrote: BENCHMARKS.md from summary.json (the committed one),
// and bench/results/<mode>.md from each other mode's results (regenerated on demand, not committed).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allocationSection } from './investigate/alloc.ts';
import { instructionSection } from './investigate/instructions.ts';
import { stallSection } from './investigate/stalls.ts';
import { machineLines } from './lib/markdown.ts';
import { type RunHeader, readResults } from './lib/results.ts';
import { scrapeReport } from './modes/scrape.ts';
import { benchmarksReport } from './modes/summary.ts';
import { throughputReport } from './modes/throughput.ts';

// biome-ignore lint/suspicious/noExplicitAny: each renderer takes its own mode's results type.
type Render = (results: any) => string[];

const investigation =
  (title: string, section: Render): Render =>
  (r: RunHeader) => [`# ${title}`, '', ...machineLines(r), ...section(r)];

export const REPORTS: Readonly<Record<string, Render>> = {
  throughput: throughputReport,
  scrape: scrapeReport,
  instructions: investigation('Instructions per request (`--mode=instructions`)', instructionSection),
  alloc: investigation('Memory allocated per request (`--mode=alloc`)', allocationSection),
  stalls: investigation('What holds the event loop (`--mode=stalls`)', stallSection),
};

/** Writes the report of `kind` (`summary`: BENCHMARKS.md at `out`) if its results exist. */
export function writeReport(resultsDir: string, out: string, kind: string): void {
  const results = readResults(resultsDir, kind);
  const render: Render | undefined = kind === 'summary' ? benchmarksReport : REPORTS[kind];
  if (results === undefined || render === undefined) return;
  const file = kind === 'summary' ? out : join(resultsDir, `${kind}.md`);
  writeFileSync(file, render(results).join('\n'));
  process.stderr.write(`wrote ${file}\n`);
}
