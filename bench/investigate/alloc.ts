// `--mode=alloc`: bytes allocated per request, by package and function, from a sampling heap profile
// taken inside each server (heap-sampler.ts) around the counted requests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Harness } from '../lib/harness.ts';
import { fix, int, kb, pct, table } from '../lib/markdown.ts';
import { packageOf } from '../lib/profile.ts';
import type { RunHeader } from '../lib/results.ts';
import { SAMPLING_INTERVAL, STARTED, WRITTEN } from './heap-sampler.ts';
import { probedWindow } from './probed-window.ts';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

export interface AllocationSummary {
  readonly bytesPerRequest: number;
  /** Bytes per request by package, largest first (the top entries only). */
  readonly byPackage: readonly { name: string; bytesPerRequest: number }[];
  readonly byFunction: readonly { name: string; bytesPerRequest: number }[];
}

// Node's own code and built-ins allocate on behalf of their caller: a string JSON.stringify builds for
// pino is pino's, a Map an SDK makes is the SDK's. Each sample is charged to the nearest frame outside
// them.
const ON_BEHALF = new Set(['node:internal', '(native)', '(root)', '(program)']);
const onBehalf = (pkg: string) => ON_BEHALF.has(pkg) || pkg.startsWith('node:');

export function summariseAllocations(file: string, requests: number, top = 15): AllocationSummary {
  const root = (JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head;
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode, owner: { pkg: string; fn: string } | undefined) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const pkg = packageOf(url, functionName);
    const here = onBehalf(pkg)
      ? owner
      : { pkg, fn: `\`${functionName || '(anonymous)'}\` ${pkg}:${lineNumber + 1}` };
    if (node.selfSize > 0) {
      const charged = here ?? { pkg, fn: `\`${functionName || '(anonymous)'}\` ${pkg}` };
      total += node.selfSize;
      byPackage.set(charged.pkg, (byPackage.get(charged.pkg) ?? 0) + node.selfSize);
      byFunction.set(charged.fn, (byFunction.get(charged.fn) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child, here);
  };
  walk(root, undefined);
  const perRequest = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, bytes]) => ({ name, bytesPerRequest: bytes / requests }));
  return {
    bytesPerRequest: total / requests,
    byPackage: perRequest(byPackage),
    byFunction: perRequest(byFunction),
  };
}

export interface AllocationResults extends RunHeader {
  kind: 'alloc';
  settings: { rate: number; warmupSeconds: number; durationSeconds: number; samplingInterval: number };
  runs: { variant: string; label: string; requests: number; spans: number; summary: AllocationSummary }[];
}

const VARIANTS = ['node-http', 'bare', 'template-core', 'template', 'naive'];

/**
 * Each stack serves the probe route at one fixed rate (below every stack's capacity, so no exporter
 * drops what it would otherwise encode) under V8's sampling heap profiler: every byte a request
 * allocates is young-generation space, and the more it allocates, the more often the process stops.
 */
export async function allocations(h: Harness): Promise<void> {
  const [rate, warmupSeconds, durationSeconds] = [
    h.num('alloc-rate'),
    h.num('alloc-warmup'),
    h.num('alloc-duration'),
  ];
  const results: AllocationResults = {
    kind: 'alloc',
    ...h.header(),
    settings: { rate, warmupSeconds, durationSeconds, samplingInterval: SAMPLING_INTERVAL },
    runs: [],
  };
  const env = await h.setup();
  try {
    for (const v of h.variants(VARIANTS)) {
      const file = join(h.work, `alloc-${v.id.replace(/\W/g, '_')}.heapprofile`);
      const { result: r, spans } = await probedWindow(h, env, v, {
        module: join(import.meta.dirname, 'heap-sampler.ts'),
        env: { BENCH_HEAP_PROFILE: file },
        started: STARTED,
        written: WRITTEN,
        // Writing a profile of tens of thousands of samples takes seconds.
        writtenTimeoutMs: 60_000,
        load: { connections: 10, rate, warmupSeconds, durationSeconds },
      });
      const summary = summariseAllocations(file, r.requests);
      results.runs.push({ variant: v.id, label: v.label, requests: r.requests, spans, summary });
      process.stderr.write(
        `${v.id.padEnd(22)} ${(summary.bytesPerRequest / 1024).toFixed(1)} KB per request\n`,
      );
    }
  } finally {
    await env.teardown();
  }
  h.save('alloc', results);
}

export function allocationSection(a: AllocationResults): string[] {
  const bare = a.runs.find((r) => r.variant === 'bare')?.summary.bytesPerRequest ?? Number.NaN;
  const template = a.runs.find((r) => r.variant === 'template')?.summary;
  const top = (xs: readonly { name: string; bytesPerRequest: number }[]) =>
    xs.map(
      (x) =>
        `${x.name} | ${kb(x.bytesPerRequest)} | ${pct(x.bytesPerRequest / (template?.bytesPerRequest ?? 0))}`,
    );
  return [
    `## Memory allocated per request (V8 sampling heap profiler): ${int(a.settings.rate)} req/s, ${a.settings.warmupSeconds} s warm-up then ${a.settings.durationSeconds} s sampled every ${int(a.settings.samplingInterval)} bytes; run of ${a.startedAt.slice(0, 10)}, commit ${a.machine.commit}`,
    '',
    ...table(
      'stack | KB allocated per request | × bare Express | spans exported per request',
      a.runs.map(
        (r) =>
          `${r.label} | ${kb(r.summary.bytesPerRequest)} | ${fix(r.summary.bytesPerRequest / bare, 2)} | ${fix(r.spans / r.requests, 2)}`,
      ),
    ),
    ...(template
      ? [
          ...table(
            "the full template's allocations by package | KB per request | share",
            top(template.byPackage),
          ),
          ...table('by function | KB per request | share', top(template.byFunction.slice(0, 10))),
        ]
      : []),
  ];
}
