// Summarises a sampling heap profile (bench/lib/heap-sampler.ts) into bytes allocated per request, by
// package and by function.
import { readFileSync } from 'node:fs';
import { packageOf } from './profile.ts';

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
