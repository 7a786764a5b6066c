// The Deployment's resource limits on this machine: a cgroup (v1 or v2) with its memory and CPU limits
// that the server joins before it starts, whose memory is read as the kubelet reads a pod's.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployment } from '../../deploy/src/workload.ts';

export interface Limits {
  readonly memoryBytes: number;
  readonly cpus: number;
}

const UNITS: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  k: 1e3,
  M: 1e6,
  G: 1e9,
};

/** The api container's limits, from the TypeScript that generates the manifests. */
export function deploymentLimits(): Limits {
  const limits = deployment().spec?.template.spec?.containers[0]?.resources?.limits ?? {};
  const mem = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(String(limits.memory));
  const cpu = /^(\d+)(m)?$/.exec(String(limits.cpu));
  if (!mem || !cpu) throw new Error(`bench: cannot read the Deployment's limits ${JSON.stringify(limits)}`);
  return {
    memoryBytes: Number(mem[1]) * (UNITS[mem[2] ?? ''] as number),
    cpus: Number(cpu[1]) / (cpu[2] ? 1000 : 1),
  };
}

export interface Cgroup {
  readonly version: 1 | 2;
  /** Prepended to the server's command: joins the cgroup, then execs the server. */
  readonly wrapper: string[];
  /** Usage minus inactive file pages: the working set the kubelet compares with the limit. */
  workingSet(): number;
  oomKills(): number;
  remove(): void;
}

const stat = (file: string, key: string) =>
  Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1] ?? Number.NaN);

/** A new cgroup with `limits`, or undefined where this process may not make one (not root, no cgroupfs). */
export function createCgroup(name: string, limits: Limits): Cgroup | undefined {
  const root = '/sys/fs/cgroup';
  const period = 100_000;
  const quota = String(Math.round(limits.cpus * period));
  try {
    if (existsSync(join(root, 'cgroup.controllers'))) {
      const dir = join(root, name);
      writeFileSync(join(root, 'cgroup.subtree_control'), '+memory +cpu');
      mkdirSync(dir);
      writeFileSync(join(dir, 'memory.max'), String(limits.memoryBytes));
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${period}`);
      return {
        version: 2,
        wrapper: ['sh', '-c', `echo $$ > ${dir}/cgroup.procs && exec "$@"`, 'sh'],
        workingSet: () =>
          Number(readFileSync(join(dir, 'memory.current'), 'utf8')) -
          stat(join(dir, 'memory.stat'), 'inactive_file'),
        oomKills: () => stat(join(dir, 'memory.events'), 'oom_kill'),
        remove: () => rmdirSync(dir),
      };
    }
    const mem = join(root, 'memory', name);
    const cpu = join(root, 'cpu', name);
    mkdirSync(mem);
    mkdirSync(cpu);
    writeFileSync(join(mem, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), quota);
    return {
      version: 1,
      wrapper: [
        'sh',
        '-c',
        `echo $$ > ${mem}/cgroup.procs && echo $$ > ${cpu}/cgroup.procs && exec "$@"`,
        'sh',
      ],
      workingSet: () =>
        Number(readFileSync(join(mem, 'memory.usage_in_bytes'), 'utf8')) -
        stat(join(mem, 'memory.stat'), 'total_inactive_file'),
      oomKills: () => stat(join(mem, 'memory.oom_control'), 'oom_kill'),
      remove: () => {
        rmdirSync(mem);
        rmdirSync(cpu);
      },
    };
  } catch {
    return undefined;
  }
}
