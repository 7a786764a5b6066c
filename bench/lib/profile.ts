// Summarises a V8 .cpuprofile (node --cpu-prof): self time by package and by function, so the report
// can show where a request's time goes.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byPackage: { name: string; ms: number; share: number }[];
  readonly byFunction: { name: string; ms: number; share: number }[];
  /** Every busy sample charged to one cost centre (see COST_CENTRES), all of them listed. */
  readonly byCentre?: { name: string; ms: number; share: number }[];
}

/**
 * What a request's work is, as an operator thinks of it (a system call is "(native)" whoever made it).
 * `anywhere`: charged when any frame on the stack matches, first such centre wins (a timer's batch
 * export, an ioredis command and its socket write). Otherwise the innermost matching frame decides:
 * middleware call the rest of the chain, so an outer frame says nothing about the work under it.
 */
export const COST_CENTRES: readonly {
  name: string;
  /** The promise of the template this work keeps (the summary's "which promise holds it"). */
  promise?: string;
  anywhere?: boolean;
  test: (url: string, fn: string) => boolean;
}[] = [
  {
    name: 'garbage collection',
    promise: 'every layer (their garbage)',
    anywhere: true,
    test: (_u, fn) => fn === '(garbage collector)',
  },
  {
    name: 'OTel spans: batch export (OTLP encoding, HTTP)',
    promise: "100 % of the contract's spans leave the process",
    anywhere: true,
    // The template's exporters encode chunks after the first on later turns of the loop, where no
    // batch processor frame is on the stack: the serializer's own files say which signal it is.
    test: (u, fn) =>
      u.includes('/otlp-transformer/dist/trace/') ||
      (u.includes('/sdk-trace/dist/export/BatchSpanProcessorBase') &&
        (fn === '_flushOneBatch' || fn === 'doExport')),
  },
  {
    name: 'OTel log records: batch export (OTLP encoding, HTTP)',
    promise: 'OTLP log records (off with OTEL_LOGS_EXPORTER=none)',
    anywhere: true,
    test: (u, fn) =>
      u.includes('/otlp-transformer/dist/logs/') ||
      (u.includes('/sdk-logs/dist/export/BatchLogRecordProcessorBase') &&
        (fn === '_executeExport' || fn === '_exportWithTimeout')),
  },
  {
    name: 'OTel export responses (OTLP HTTP transport, both signals)',
    promise: "100 % of the contract's spans leave the process",
    anywhere: true,
    test: (u) => u.includes('/otlp-exporter-base/'),
  },
  {
    // The records themselves are made in pino's worker thread, whose profile is a separate file.
    name: "OTel log records: handing each line to pino's worker thread (thread-stream)",
    promise: 'OTLP log records (off with OTEL_LOGS_EXPORTER=none)',
    anywhere: true,
    test: (u) => u.includes('/thread-stream/'),
  },
  {
    name: 'Redis commands (ioredis, its instrumentation, socket writes and replies)',
    promise: 'rate limits shared across replicas',
    anywhere: true,
    test: (u) => u.includes('/ioredis/') || u.includes('instrumentation-ioredis'),
  },
  {
    name: 'pino-http child logger (one per request)',
    promise: 'one access line per request, with trace ids',
    anywhere: true,
    test: (u, fn) => fn === 'child' && u.includes('/pino/lib/proto'),
  },
  {
    name: 'log lines (pino-http, pino serialisation, redaction, file write)',
    promise: 'one access line per request, with trace ids',
    test: (u) => /\/(pino|pino-http|sonic-boom|@pinojs\/redact|pino-std-serializers)\//.test(u),
  },
  {
    name: 'Sentry (errors only)',
    promise: 'errors reported to Sentry',
    test: (u) => u.includes('/@sentry/'),
  },
  { name: 'helmet', promise: 'security headers', test: (u) => u.includes('/helmet/') },
  { name: 'prom-client', promise: 'RED metrics with exemplars', test: (u) => u.includes('/prom-client/') },
  {
    name: 'OTel server span (server-span.ts, context, span life cycle)',
    promise: 'a server span and a query span per request, trace context everywhere',
    test: (u) =>
      u.includes('/@opentelemetry/') || (u.includes('/service/src/') && u.endsWith('/server-span.ts')),
  },
  {
    name: 'Express and router (incl. response writes)',
    promise: '(bare Express does this too)',
    test: (u) => /\/(express|router)\//.test(u),
  },
  {
    name: 'template code',
    promise: 'auth, validation, problem+json, limits, request ids (and the query)',
    test: (u) => /\/service\/src\//.test(u) && !u.includes('/node_modules/'),
  },
];
const OTHER_CENTRE = 'Node.js core (HTTP parsing, sockets, timers, promises)';

/** "pino", "@opentelemetry/sdk-trace", "(gc)", "node:internal", "service", ... */
export function packageOf(url: string, fn: string): string {
  if (url === '') {
    if (fn === '(garbage collector)') return '(gc)';
    if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn;
    return '(native)';
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url.includes('internal/') ? 'node:internal' : url;
  const m = /\/(service|bench)\/src?\/?/.exec(url);
  if (m) return m[1] === 'service' ? 'service (template code)' : 'bench';
  return url.replace(/^file:\/\//, '');
}

const fileOf = (url: string) => url.slice(url.search(/\/(service|bench)\//) + 1);

/**
 * Self time by package, function and cost centre. `window` (CLOCK_MONOTONIC µs, as V8 stamps the
 * samples) keeps only the samples inside it: the measured window without start-up and warm-up.
 */
export function summariseProfile(
  file: string,
  top = 15,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Per node: the first `anywhere` centre matched on its path to the root, and the innermost other one.
  const anywhere = COST_CENTRES.map((c, i) => (c.anywhere ? i : -1)).filter((i) => i >= 0);
  const inner = COST_CENTRES.map((c, i) => (c.anywhere ? -1 : i)).filter((i) => i >= 0);
  const match = (id: number, among: number[]) => {
    const n = byId.get(id);
    return n
      ? among.find((i) => COST_CENTRES[i]?.test(n.callFrame.url, n.callFrame.functionName))
      : undefined;
  };
  const memo = new Map<number, { any: number; inner: number }>();
  const pathOf = (id: number): { any: number; inner: number } => {
    const hit = memo.get(id);
    if (hit) return hit;
    const up = parent.get(id);
    const above = up === undefined ? { any: Number.POSITIVE_INFINITY, inner: -1 } : pathOf(up);
    const a = match(id, anywhere);
    const i = match(id, inner);
    const r = { any: Math.min(above.any, a ?? Number.POSITIVE_INFINITY), inner: i ?? above.inner };
    memo.set(id, r);
    return r;
  };
  const centreOf = (id: number): string => {
    const r = pathOf(id);
    const idx = Number.isFinite(r.any) ? r.any : r.inner;
    return COST_CENTRES[idx]?.name ?? OTHER_CENTRE;
  };
  const selfUs = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const delta = p.timeDeltas[i] ?? 0;
    t += delta;
    if (window && (t < window.fromUs || t > window.toUs)) continue;
    const id = p.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const pkg = new Map<string, number>();
  const fns = new Map<string, number>();
  const centres = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(root)') continue;
    total += us;
    const name = packageOf(url, functionName);
    pkg.set(name, (pkg.get(name) ?? 0) + us);
    const where = /\/(service|bench)\//.test(url) && !url.includes('/node_modules/') ? fileOf(url) : name;
    const fn = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const c = centreOf(id);
    centres.set(c, (centres.get(c) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return {
    totalMs: total / 1000,
    byPackage: rank(pkg),
    byFunction: rank(fns),
    byCentre: [...centres]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 })),
  };
}
