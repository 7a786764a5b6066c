// Numbers and tables as the reports print them; a number that was not measured prints as a dash.
import type { RunHeader } from './results.ts';
import type { Spread } from './stats.ts';

const known = (n: number, f: (n: number) => string) => (Number.isFinite(n) ? f(n) : '–');
export const int = (n: number) => known(n, (x) => Math.round(x).toLocaleString('en-US'));
export const fix = (n: number, d = 1) => known(n, (x) => x.toFixed(d));
export const pct = (n: number) => known(n, (x) => `${(x * 100).toFixed(1)} %`);
export const mib = (b: number) => known(b, (x) => `${(x / 2 ** 20).toFixed(1)} MiB`);
export const kb = (b: number) => known(b, (x) => (x / 1024).toFixed(1));
export const range = (s: Spread, f: (n: number) => string = int) => `${f(s.min)}–${f(s.max)}`;
export const verdict = (ok: boolean | undefined) =>
  ok === undefined ? 'not measured' : ok ? '**met**' : '**missed**';

/**
 * A table from its header and rows, each written as cells joined by ' | '. `align`: one letter per
 * column, l(eft) or r(ight); columns past its end are right-aligned (numbers).
 */
export function table(head: string, body: readonly string[], align = 'l'): string[] {
  const rule = head.split(' | ').map((_, i) => (align[i] === 'l' ? '---' : '---:'));
  return [head, rule.join(' | '), ...body].map((cells) => `| ${cells} |`).concat('');
}

export function machineLines(r: RunHeader): string[] {
  const m = r.machine;
  return [
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; Linux ${m.kernel}`,
    `- Node.js ${m.node}; Redis ${m.redis}; commit ${m.commit}`,
    `- Run: ${r.startedAt} → ${r.finishedAt}; load average (1/5/15 min) before ${r.loadBefore.join(' / ')}, after ${r.loadAfter.join(' / ')}`,
    `- Pinning: ${r.pinned ? 'server on core 0; load generator, orchestrator, sinks and Redis on core 1 (taskset)' : 'unavailable (taskset or a second core missing): processes share all cores'}`,
    `- Versions: ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
  ];
}
