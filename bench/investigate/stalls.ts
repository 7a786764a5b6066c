// `--mode=stalls`: what holds the event loop at the fixed rate of the p99 target. Each stack runs under
// the stall probe (stall-probe.ts), which times long loop turns, GC pauses and OTLP encoding runs; its
// 1 ms timer costs a little CPU, so the p99 target is read from the fixed-rate table, not from here.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Harness } from '../lib/harness.ts';
import type { LoadResult } from '../lib/load.ts';
import { fix, int, pct, table } from '../lib/markdown.ts';
import type { RunHeader, ThroughputResults } from '../lib/results.ts';
import { probedWindow } from './probed-window.ts';
import {
  LONG_STALL_MS,
  STALL_MS,
  STALL_STARTED,
  STALL_WRITTEN,
  type StallSummary,
  summariseStalls,
} from './stall-events.ts';

export interface StallResults extends RunHeader {
  kind: 'stalls';
  settings: { rate: number; connections: number; warmupSeconds: number; durationSeconds: number };
  runs: {
    variant: string;
    label: string;
    requests: number;
    latencyUs: LoadResult['latencyUs'];
    summary: StallSummary;
  }[];
}

// Bare Express: what the host and load generator stall on alone; without OTel: what the SDK adds;
// the packaged exporters: what whole-batch encoding changes.
const VARIANTS = ['bare', 'template', 'template-otel', 'template-whole-batch'];

export async function stalls(h: Harness): Promise<void> {
  const last = h.read<ThroughputResults>('throughput') ?? h.read<ThroughputResults>('summary');
  const rate = h.opt['stall-rate'] === undefined ? (last?.fixedRate.rate ?? 0) : h.num('stall-rate');
  if (!(rate > 0))
    throw new Error('--mode=stalls needs --stall-rate, or a throughput run whose fixed rate it reuses');
  const [warmupSeconds, durationSeconds] = [h.num('stall-warmup'), h.num('stall-duration')];
  const connections = h.rateConnections(rate);
  const results: StallResults = {
    kind: 'stalls',
    ...h.header(),
    settings: { rate, connections, warmupSeconds, durationSeconds },
    runs: [],
  };
  const env = await h.setup();
  try {
    for (const v of h.variants(VARIANTS)) {
      const file = join(h.work, `stalls-${v.id.replace(/\W/g, '_')}.json`);
      const { result: r } = await probedWindow(h, env, v, {
        module: join(import.meta.dirname, 'stall-probe.ts'),
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
        `${v.id.padEnd(22)} p99 ${r.latencyUs.p99} µs  ${summary.stalls.longPerSecond.toFixed(2)} long stalls/s  gc ${summary.gc.perSecond.toFixed(2)}/s\n`,
      );
    }
  } finally {
    await env.teardown();
  }
  h.save('stalls', results);
}

export function stallSection(st: StallResults): string[] {
  const { rate, connections, warmupSeconds, durationSeconds } = st.settings;
  const ms = (n: number) => fix(n, 2);
  const encoding = (e: StallSummary['exportSpans']) =>
    e.perSecond > 0 ? `${ms(e.meanMs)} / ${ms(e.maxMs)} (${int(e.itemsPerCall)})` : '–';
  return [
    `## What holds the event loop at ${int(rate)} req/s (stall probe): ${connections} connections, ${warmupSeconds} s warm-up then ${durationSeconds} s; run of ${st.startedAt.slice(0, 10)}, commit ${st.machine.commit}`,
    '',
    ...table(
      `stack | p99 µs | loop turns > ${STALL_MS} ms per s | of those ≥ ${LONG_STALL_MS} ms per s | longest ms | GC pauses per s | GC mean / max ms | span encoding runs per s | mean / max ms (items) | log-record encoding runs per s | mean / max ms (items) | loop held by GC / encoding | stalls ≥ ${LONG_STALL_MS} ms: with GC / with encoding / neither`,
      st.runs.map(
        ({ label, latencyUs, summary: s }) =>
          `${label} | ${int(latencyUs.p99)} | ${fix(s.stalls.perSecond, 1)} | ${fix(s.stalls.longPerSecond, 2)} | ${ms(s.stalls.maxMs)} | ${fix(s.gc.perSecond, 2)} | ${ms(s.gc.meanMs)} / ${ms(s.gc.maxMs)} | ${fix(s.exportSpans.perSecond, 2)} | ${encoding(s.exportSpans)} | ${fix(s.exportLogs.perSecond, 2)} | ${encoding(s.exportLogs)} | ${pct(s.gc.share)} / ${pct(s.exportSpans.share + s.exportLogs.share)} | ${s.long.withGc} / ${s.long.withExport} / ${s.long.neither}`,
      ),
    ),
  ];
}
