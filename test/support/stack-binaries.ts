// The stack's own binaries for tests (the collector distribution, Prometheus 3, promtool, Alertmanager,
// amtool): the paths that `npm run stack:binaries` prints, built once and cached by
// scripts/stack-binaries.sh.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface StackBinaries {
  readonly otelcol: string;
  readonly prometheus: string;
  readonly promtool: string;
  readonly alertmanager: string;
  readonly amtool: string;
}

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'stack-binaries.sh');
let pending: Promise<StackBinaries> | undefined;

/**
 * Runs the build script (a cache hit takes well under a second; CI builds before the tests run) and
 * returns its paths. A cold build can take many minutes, so the wait has no short timeout: the
 * script's own progress lines say what it does, and the error carries them.
 */
export function stackBinaries(): Promise<StackBinaries> {
  pending ??= promisify(execFile)(SCRIPT, [], { maxBuffer: 64 * 1024 * 1024 }).then(
    ({ stdout }) => {
      const line = stdout.trim().split('\n').at(-1) ?? '';
      const paths = JSON.parse(line) as StackBinaries;
      for (const key of ['otelcol', 'prometheus', 'promtool', 'alertmanager', 'amtool'] as const)
        if (typeof paths[key] !== 'string') throw new Error(`stack-binaries printed no ${key}: ${line}`);
      return paths;
    },
    (err: { stderr?: string; message: string }) => {
      throw new Error(`scripts/stack-binaries.sh failed: ${err.message}\n${err.stderr ?? ''}`);
    },
  );
  return pending;
}
