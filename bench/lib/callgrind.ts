// Instruction counts from valgrind's callgrind, for a cost per request that the machine's noise does
// not move: on this kind of shared host req/s and even CPU time swing by up to 2x between rounds,
// while callgrind counts the same instructions for the same work (seen here: bare Express counted
// twice, 0.1 % apart). No npm package drives callgrind; valgrind's own `vgdb` sends the `zero` and
// `dump` monitor commands to a running process, and the dump's `summary:` line is the total.
// (`callgrind_control` wraps vgdb but finds processes by listing their command lines, which missed
// the template's, and it reports that on stdout with exit status 0.)
// vgdb finds the process's FIFOs by names that valgrind built from the process's own USER and HOST
// variables (the template's HOST is its listen address), so vgdb runs with the same two values.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** valgrind's arguments before the program: every thread of the process counted into one file. */
export function callgrindArgs(outDir: string): string[] {
  return ['--tool=callgrind', `--callgrind-out-file=${join(outDir, 'callgrind.%p')}`];
}

/** The environment a vgdb command needs to reach a process started with `serverEnv`. */
function vgdbEnv(serverEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (serverEnv.USER !== undefined) env.USER = serverEnv.USER;
  if (serverEnv.HOST !== undefined) env.HOST = serverEnv.HOST;
  return env;
}

/** Zeroes the counters of a process running under callgrind; resolves once callgrind has done it. */
export async function zeroCounters(pid: number, serverEnv: NodeJS.ProcessEnv): Promise<void> {
  await run('vgdb', [`--pid=${pid}`, 'zero'], { timeout: 120_000, env: vgdbEnv(serverEnv) });
}

/**
 * Dumps the counters since the last zero and returns the instructions executed (Ir) in that span.
 * Each dump is a new file `callgrind.<pid>.<n>`; the newest one is this dump.
 */
export async function dumpInstructions(
  pid: number,
  serverEnv: NodeJS.ProcessEnv,
  outDir: string,
): Promise<number> {
  await run('vgdb', [`--pid=${pid}`, 'dump'], { timeout: 120_000, env: vgdbEnv(serverEnv) });
  const prefix = `callgrind.${pid}.`;
  const dumps = readdirSync(outDir)
    .filter((f) => f.startsWith(prefix))
    .map((f) => ({ f, n: Number(f.slice(prefix.length)) }))
    .filter((d) => Number.isInteger(d.n))
    .sort((a, b) => b.n - a.n);
  const newest = dumps[0];
  if (!newest)
    throw new Error(`callgrind wrote no dump for pid ${pid} in ${outDir}: ${readdirSync(outDir).join(', ')}`);
  const m = /^summary:\s+(\d+)/m.exec(readFileSync(join(outDir, newest.f), 'utf8'));
  if (!m) throw new Error(`no summary line in ${newest.f}`);
  return Number(m[1]);
}
