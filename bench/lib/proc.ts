// What a server process used, read from outside it: CPU time, context switches and RSS from /proc,
// garbage collections from the template's own /metrics.
import { readdirSync, readFileSync } from 'node:fs';
import type { GcTotals } from './results.ts';

const CLOCK_TICKS = 100;

/** CPU time (user + system, all threads) a process has used, in µs. */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Context switches of every thread: a request that hands work to another thread or sleeps shows here. */
export function contextSwitches(pid: number): number {
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

export function readRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

export type RssSample = { seconds: number; bytes: number };

/** Appends a process's RSS to `into` every `everySeconds`, timed from now; returns the stop. */
export function sampleRss(pid: number, everySeconds: number, into: RssSample[]): () => void {
  const t0 = performance.now();
  const timer = setInterval(() => {
    into.push({ seconds: Math.round((performance.now() - t0) / 100) / 10, bytes: readRss(pid) });
  }, everySeconds * 1000);
  return () => clearInterval(timer);
}

/**
 * Garbage collections so far by kind, from prom-client's `nodejs_gc_duration_seconds`. A kind is
 * printed once observed: a young process may have none (`required` false), a soak minutes in must.
 */
export async function gcTotals(metricsUrl: string, required = true): Promise<GcTotals> {
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

/** What a window added to the totals, kind by kind. */
export const gcDelta = (before: GcTotals, after: GcTotals): GcTotals =>
  Object.fromEntries(
    Object.entries(after).map(([kind, a]) => [
      kind,
      { count: a.count - (before[kind]?.count ?? 0), seconds: a.seconds - (before[kind]?.seconds ?? 0) },
    ]),
  );

/** `count` sequential scrapes, each timed by the client from request to last byte. */
export async function timeScrapes(url: string, count: number, accept?: string) {
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
