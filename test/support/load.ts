// Constant client traffic for whole-process tests: N workers in a loop, every outcome recorded.
export interface Outcome {
  readonly at: number;
  /** Date.now() at the start, comparable with the service's log `time`. */
  readonly wall: number;
  readonly ms: number;
  /** 0 when the request failed at the transport level (refused, reset). */
  readonly status: number;
  readonly error?: string;
}

export interface Load {
  readonly outcomes: Outcome[];
  stop(): Promise<void>;
}

export function startLoad(
  url: string,
  opts: { workers?: number; init?: RequestInit; pauseMs?: number } = {},
): Load {
  const outcomes: Outcome[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const at = performance.now();
      const wall = Date.now();
      try {
        const res = await fetch(url, { ...opts.init, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        outcomes.push({ at, wall, ms: performance.now() - at, status: res.status });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        outcomes.push({ at, wall, ms: performance.now() - at, status: 0, error: cause ?? String(err) });
      }
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };
  const all = Array.from({ length: opts.workers ?? 4 }, worker);
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(all);
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function summarize(outcomes: readonly Outcome[]) {
  const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))] ?? 0;
  const statuses: Record<number, number> = {};
  for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  return { count: ms.length, p50: pct(50), p99: pct(99), max: ms.at(-1) ?? 0, statuses };
}
