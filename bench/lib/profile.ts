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
}

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

/**
 * `window` (CLOCK_MONOTONIC µs, as `process.hrtime.bigint() / 1000n` reads it in any process on the
 * machine, and as V8 stamps profile samples) keeps only the samples taken inside it, e.g. the
 * measured window without start-up and warm-up.
 */
const fileOf = (url: string) => url.slice(url.search(/\/(service|bench)\//) + 1);

export function summariseProfile(
  file: string,
  top = 15,
  window?: { fromUs: number; toUs: number },
): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
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
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return { totalMs: total / 1000, byPackage: rank(pkg), byFunction: rank(fns) };
}

if (import.meta.main) {
  const s = summariseProfile(process.argv[2] as string, Number(process.argv[3] ?? 25));
  console.log(`busy ${s.totalMs.toFixed(0)} ms`);
  for (const x of s.byPackage) console.log(`${(x.share * 100).toFixed(1).padStart(5)} %  ${x.name}`);
  console.log('');
  for (const x of s.byFunction) console.log(`${(x.share * 100).toFixed(1).padStart(5)} %  ${x.name}`);
}
