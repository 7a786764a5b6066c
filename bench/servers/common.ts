// What every benchmarked server shares: the probe route, its body, and how it says it is ready.

/** The route every stack serves identically, so the stacks differ only in what wraps it. */
export const HELLO_PATH = '/api/v1/hello';
export const HELLO_BODY = Object.freeze({ message: 'hello', ok: true });

/** The benchmark's bearer token and admin token (bench-only values). */
export const BENCH_API_TOKEN = 'bench-api-token-0123456789abcdef';
export const BENCH_ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef0123456789';

/** The line the orchestrator waits for: one JSON object on stderr. */
export function announceReady(info: { url: string; metricsUrl?: string }): void {
  process.stderr.write(`${JSON.stringify({ benchReady: info })}\n`);
}

export function parseReady(line: string): { url: string; metricsUrl?: string } | undefined {
  if (!line.startsWith('{"benchReady"')) return undefined;
  return (JSON.parse(line) as { benchReady: { url: string; metricsUrl?: string } }).benchReady;
}

/** Stops on SIGTERM/SIGINT with `stop`, then exits; a second signal forces the exit. */
export function exitOnSignal(stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}
