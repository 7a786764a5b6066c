// The JSON a run writes to bench/results/ (every number in a report comes from these files), and the
// per-stack rows the tables are made of.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.ts';
import { loadAverage, type MachineInfo, machineInfo } from './machine.ts';
import { canPin } from './processes.ts';
import type { ProfileSummary } from './profile.ts';
import { type Spread, spread } from './stats.ts';

/** What every results file starts with: when, on what machine, under what load. */
export interface RunHeader {
  startedAt: string;
  finishedAt: string;
  loadBefore: number[];
  loadAfter: number[];
  pinned: boolean;
  machine: MachineInfo;
}

/** Taken before a run starts anything; `save` stamps the end. */
export function runHeader(root: string): RunHeader {
  return {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    loadBefore: loadAverage(),
    loadAfter: [],
    pinned: canPin,
    machine: machineInfo(root),
  };
}

export function saveResults(dir: string, kind: string, results: RunHeader): void {
  results.finishedAt = new Date().toISOString();
  results.loadAfter = loadAverage();
  writeFileSync(join(dir, `${kind}.json`), `${JSON.stringify(results, null, 2)}\n`);
}

export function readResults<T>(dir: string, kind: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, `${kind}.json`), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Garbage collections by kind (minor, major, incremental): how many, and their pauses in seconds. */
export type GcTotals = Record<string, { count: number; seconds: number }>;

export type Route = 'hello' | 'item';

export interface Run {
  readonly variant: string;
  readonly route: Route;
  readonly round: number;
  readonly result: LoadResult & {
    cpuUsPerRequest?: number;
    switchesPerRequest?: number;
    /** Garbage collections in the measured window by kind, from the template's /metrics (fixed rate). */
    gc?: GcTotals;
  };
}

/** What the local sinks received from one stack over every round (warm-ups included). */
export interface SinkTotals {
  otlpRequests: number;
  otlpBytes: number;
  sentryRequests: number;
  sentryBytes: number;
  served: number;
  spans: number;
  logRecords: number;
}

/** throughput.json and summary.json: saturation rounds, the fixed rate, a profile, the pod's limits. */
/** A results file's profiles, older files' single one included. */
export const profilesOf = (t: ThroughputResults) => t.profiles ?? (t.profile ? [t.profile] : []);

export interface ThroughputResults extends RunHeader {
  kind: 'throughput';
  settings: {
    rounds: number;
    durationSeconds: number;
    warmupSeconds: number;
    connections: number;
    rateConnections: number;
    rateFirstSeconds: number;
    rateWarmupSeconds: number;
    rateDurationSeconds: number;
  };
  variants: {
    id: string;
    label: string;
    group: 'stack' | 'layer' | 'without';
    layers: 'all' | 'n/a' | readonly string[];
    description: string;
  }[];
  runs: Run[];
  /** runs: the settled process (after the warm-up); firstRuns: the first seconds after start. */
  fixedRate: { rate: number; runs: Run[]; firstRuns?: Run[] };
  sinks: Record<string, SinkTotals>;
  /** One CPU profile per profiled route. */
  profiles?: (ProfileSummary & { variant: string; route: string })[];
  /** Older results: the one profiled route. */
  profile?: ProfileSummary & { variant: string; route: string };
  /** The summary run only: the full template under the Deployment's limits. */
  limits?: LimitsResults;
}

export interface LimitsResults {
  limits: { memoryBytes: number; cpus: number };
  cgroupVersion: 1 | 2;
  /** After start-up, before traffic: the cgroup's working set and the process's RSS. */
  idle: { workingSetBytes: number; rssBytes: number };
  peakWorkingSetBytes: number;
  /** RSS over the sustained traffic, from its start. */
  rss: { seconds: number; bytes: number }[];
  load: LoadResult;
  /** /metrics scrapes timed after the traffic. */
  scrapeMs: number[];
  oomKills: number;
}

export interface Row {
  readonly variant: string;
  readonly route: Route;
  readonly rps: Spread;
  readonly cpu: Spread;
  /** Context switches of the server's threads per request. */
  readonly switches: Spread;
  readonly p50: Spread;
  readonly p99: Spread;
  readonly non2xx: number;
  readonly errors: number;
}

/** One row per stack and route: medians and spread over its rounds. */
export function rows(runs: readonly Run[]): Row[] {
  const keys = [...new Set(runs.map((r) => `${r.variant}\u0000${r.route}`))];
  return keys.map((key) => {
    const [variant, route] = key.split('\u0000') as [string, Route];
    const rs = runs.filter((r) => r.variant === variant && r.route === route).map((r) => r.result);
    return {
      variant,
      route,
      rps: spread(rs.map((r) => r.rps)),
      cpu: spread(rs.map((r) => r.cpuUsPerRequest ?? Number.NaN)),
      switches: spread(rs.map((r) => r.switchesPerRequest ?? Number.NaN)),
      p50: spread(rs.map((r) => r.latencyUs.p50)),
      p99: spread(rs.map((r) => r.latencyUs.p99)),
      non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
      errors: rs.reduce((a, r) => a + r.errors + r.timeouts, 0),
    };
  });
}

export const rowOf = (all: readonly Row[], variant: string, route: Route = 'hello') =>
  all.find((r) => r.variant === variant && r.route === route);
