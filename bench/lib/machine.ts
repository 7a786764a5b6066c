// What the report says about where it ran: hardware, load, versions, commit.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly redis: string;
  readonly commit: string;
  readonly versions: Record<string, string>;
}

const PACKAGES = [
  'express',
  '@opentelemetry/api',
  '@opentelemetry/sdk-node',
  '@opentelemetry/instrumentation-http',
  'pino-opentelemetry-transport',
  '@opentelemetry/auto-instrumentations-node',
  '@sentry/node',
  'pino',
  'pino-http',
  'prom-client',
  'helmet',
  'rate-limiter-flexible',
  'ioredis',
  'autocannon',
];

function sh(cmd: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineInfo(root: string): MachineInfo {
  const versions: Record<string, string> = {};
  for (const name of PACKAGES) {
    try {
      const pkg = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      };
      versions[name] = pkg.version;
    } catch {
      versions[name] = 'not installed';
    }
  }
  const dirty = sh('git', ['status', '--porcelain', '--', 'service', 'bench', 'package.json'], root);
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    redis: sh('redis-server', ['--version']).replace(/^Redis server /, ''),
    commit: `${sh('git', ['rev-parse', '--short', 'HEAD'], root)}${dirty && dirty !== 'unknown' ? ' (with uncommitted changes)' : ''}`,
    versions,
  };
}

export const loadAverage = () => loadavg().map((l) => Math.round(l * 100) / 100);
