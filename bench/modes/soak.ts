// Memory over sustained random-path traffic: the RSS soak of the scrape mode, and the summary's pod
// under the Deployment's limits (a cgroup, memory read as the kubelet reads it).
import { createCgroup, deploymentLimits } from '../lib/cgroup.ts';
import { type Env, type Harness, sleep } from '../lib/harness.ts';
import type { LoadResult } from '../lib/load.ts';
import { fix, int, mib, pct, table } from '../lib/markdown.ts';
import { gcDelta, gcTotals, type RssSample, readRss, sampleRss, timeScrapes } from '../lib/proc.ts';
import type { GcTotals, LimitsResults } from '../lib/results.ts';
import { allVariants, type Variant } from '../lib/variants.ts';

export interface SoakResults {
  samples: RssSample[];
  /** From the start of the warm-up: the curve shows when the heap reached its working size. */
  warmupSamples: RssSample[];
  baselineBytes: number;
  finalBytes: number;
  load: LoadResult | undefined;
  /** Collections in the measured window by kind, from /metrics. */
  gc?: GcTotals;
}

export const fullTemplate = () => allVariants().find((v) => v.id === 'template') as Variant;

/** Random-path traffic (real routes, unknown paths, refused requests) at full speed. */
const traffic = (h: Harness, url: string, connections: number, durationSeconds: number) =>
  h.load({ url, path: '/', connections, warmupSeconds: 0, durationSeconds, randomPaths: h.randomPaths });

export async function rssSoak(h: Harness, env: Env, seconds: number, warmup: number): Promise<SoakResults> {
  const srv = await env.start(fullTemplate(), 'rss');
  try {
    const warmupSamples: RssSample[] = [];
    const stopWarmup = sampleRss(srv.pid, 10, warmupSamples);
    try {
      if (warmup > 0) await traffic(h, srv.url, 10, warmup);
    } finally {
      stopWarmup();
    }
    const metrics = srv.metricsUrl as string;
    const baselineBytes = readRss(srv.pid);
    const gcBefore = await gcTotals(metrics);
    const t0 = performance.now();
    const samples: RssSample[] = [{ seconds: 0, bytes: baselineBytes }];
    const stop = sampleRss(srv.pid, Math.max(1, Math.min(10, seconds / 30)), samples);
    let load: LoadResult;
    try {
      load = await traffic(h, srv.url, 10, seconds);
    } finally {
      stop();
    }
    const finalBytes = readRss(srv.pid);
    const gc = gcDelta(gcBefore, await gcTotals(metrics));
    samples.push({ seconds: Math.round((performance.now() - t0) / 100) / 10, bytes: finalBytes });
    process.stderr.write(`rss ${baselineBytes} -> ${finalBytes}\n`);
    return { samples, warmupSamples, baselineBytes, finalBytes, load, gc };
  } finally {
    await srv.proc.stop();
  }
}

/** The full template in a cgroup with the Deployment's limits: idle, then under sustained traffic. */
export async function underLimits(h: Harness, env: Env): Promise<LimitsResults | undefined> {
  const limits = deploymentLimits();
  const cg = createCgroup(`bench-${process.pid}`, limits);
  if (!cg) {
    process.stderr.write('limits: cannot create a cgroup here (root and cgroupfs needed): not measured\n');
    return undefined;
  }
  try {
    const srv = await env.start(fullTemplate(), 'limits', { wrapper: cg.wrapper });
    try {
      // The pod after start-up with only its probes: what it holds before traffic.
      await sleep(10_000);
      await h.probe(srv.url, h.routePath('item'));
      const idle = { workingSetBytes: cg.workingSet(), rssBytes: readRss(srv.pid) };
      const seconds = h.num('limits-duration');
      const rss: RssSample[] = [];
      let peakWorkingSetBytes = idle.workingSetBytes;
      const peak = setInterval(() => {
        peakWorkingSetBytes = Math.max(peakWorkingSetBytes, cg.workingSet());
      }, 250);
      const stopRss = sampleRss(srv.pid, Math.max(1, seconds / 30), rss);
      let load: LoadResult;
      try {
        load = await traffic(h, srv.url, h.num('connections'), seconds);
      } finally {
        clearInterval(peak);
        stopRss();
      }
      const scrapes = await timeScrapes(`${srv.metricsUrl}/metrics`, h.num('scrapes', { min: 1 }));
      const oomKills = cg.oomKills();
      process.stderr.write(
        `limits: idle ${mib(idle.workingSetBytes)} working set, peak ${mib(peakWorkingSetBytes)}, ${load.requests} requests, ${oomKills} OOM kills\n`,
      );
      const cgroupVersion = cg.version;
      return { limits, cgroupVersion, idle, peakWorkingSetBytes, rss, load, scrapeMs: scrapes.ms, oomKills };
    } finally {
      await srv.proc.stop();
    }
  } finally {
    cg.remove();
  }
}

/** The soak's RSS, its curve every 30 s from the start of the warm-up, and its collections by kind. */
export function soakTables(s: SoakResults, seconds: number, warmup: number): string[] {
  const values = s.samples.map((x) => x.bytes);
  const points = [
    ...s.warmupSamples.map((x) => ({ at: x.seconds, bytes: x.bytes })),
    ...s.samples.map((x) => ({ at: warmup + x.seconds, bytes: x.bytes })),
  ].filter(
    (x, i, all) =>
      (i === all.length - 1 || Math.round(x.at) % 30 < 10) &&
      all.findIndex((y) => Math.round(y.at) === Math.round(x.at)) === i,
  );
  const requests = s.load?.requests ?? 0;
  const gc = Object.entries(s.gc ?? {}).filter(([, e]) => e.count > 0 && requests > 0);
  return [
    `## RSS of the full template over ${seconds} s of random-path traffic (10 connections${s.load ? `, ${int(s.load.requests)} requests` : ''}) after ${warmup} s of warm-up`,
    '',
    ...table(
      'at start of window | at end | change | min | max | samples',
      [
        `${mib(s.baselineBytes)} | ${mib(s.finalBytes)} | ${pct(s.finalBytes / s.baselineBytes - 1)} | ${mib(Math.min(...values))} | ${mib(Math.max(...values))} | ${values.length}`,
      ],
      '',
    ),
    `RSS from the start of the warm-up (s: MiB): ${points.map((x) => `${Math.round(x.at)}: ${Math.round(x.bytes / 2 ** 20)}`).join(', ')}.`,
    '',
    ...table(
      'GC kind | collections | per minute | pause total s | mean pause ms | pause µs per request',
      gc
        .sort((a, b) => b[1].seconds - a[1].seconds)
        .map(
          ([kind, e]) =>
            `${kind} | ${int(e.count)} | ${fix((e.count * 60) / seconds, 1)} | ${fix(e.seconds, 2)} | ${fix((e.seconds * 1000) / e.count, 2)} | ${fix((e.seconds * 1e6) / requests, 1)}`,
        ),
    ),
  ];
}
