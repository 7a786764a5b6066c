// Recent request rate and latency percentiles for /api/health/performance, kept in per-minute
// HDR histograms from node:perf_hooks (native, fixed memory) rather than a hand-written reservoir.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { RequestHandler } from 'express';
import { createEventLoopWindow, type EventLoopReading } from '../observability/metrics/event-loop.ts';

const WINDOW_MINUTES = 5;
const MINUTE_MS = 60_000;

export interface LatencySummary {
  readonly requests: number;
  readonly ratePerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

export interface RequestStats {
  readonly middleware: RequestHandler;
  summary(minutes: number): LatencySummary;
  /** Responses finished since start. */
  total(): number;
  /** Event-loop delay beyond the sampling interval and utilisation, over the last minute or less. */
  eventLoop(): EventLoopReading;
  close(): void;
}

export function createRequestStats(): RequestStats {
  const minutes = minuteHistograms();
  const startedAt = Date.now();
  let total = 0;
  // The view shows the present, not the average since start: the window restarts every minute.
  const loop = createEventLoopWindow();
  const restartLoop = setInterval(() => loop.restart(), MINUTE_MS);
  restartLoop.unref();

  const middleware: RequestHandler = (_req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      total++;
      const us = Number((process.hrtime.bigint() - start) / 1000n);
      minutes.record(us > 0 ? us : 1);
    });
    next();
  };

  return {
    middleware,
    total: () => total,
    summary(lastMinutes) {
      const n = Math.min(Math.max(1, lastMinutes), WINDOW_MINUTES);
      const merged = minutes.last(n);
      // The window is shorter right after start-up; the rate must not be diluted by time not yet lived.
      const seconds = Math.max(1, Math.min(n * 60, (Date.now() - startedAt) / 1000));
      const ms = (p: number) => (merged.count === 0 ? 0 : Math.round(merged.percentile(p) / 10) / 100);
      return {
        requests: merged.count,
        ratePerSecond: Math.round((merged.count / seconds) * 100) / 100,
        p50Ms: ms(50),
        p95Ms: ms(95),
        p99Ms: ms(99),
      };
    },
    eventLoop: () => loop.read(),
    close() {
      clearInterval(restartLoop);
      loop.close();
    },
  };
}

/** Durations in microseconds, in a ring of per-minute histograms: slot = minute number mod size. */
function minuteHistograms() {
  const histogram = () => createHistogram({ lowest: 1, highest: 600_000_000, figures: 2 });
  const slots: { minute: number; h: RecordableHistogram }[] = Array.from(
    { length: WINDOW_MINUTES + 1 },
    () => ({ minute: -1, h: histogram() }),
  );
  return {
    record(us: number): void {
      const minute = Math.floor(Date.now() / MINUTE_MS);
      const slot = slots[minute % slots.length] as (typeof slots)[number];
      if (slot.minute !== minute) {
        slot.minute = minute;
        slot.h.reset();
      }
      slot.h.record(us);
    },
    /** The last `n` minutes (the current one included) merged into one histogram. */
    last(n: number): RecordableHistogram {
      const now = Math.floor(Date.now() / MINUTE_MS);
      const merged = histogram();
      for (const slot of slots) if (slot.minute > now - n && slot.minute <= now) merged.add(slot.h);
      return merged;
    },
  };
}
