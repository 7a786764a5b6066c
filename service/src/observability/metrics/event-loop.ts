// Event-loop health as operators should read it: delay beyond the sampling interval (~0 when idle),
// and utilisation. Why a timer of our own, not monitorEventLoopDelay: docs/decisions.md, "Event-loop
// delay: the interval taken out, no blind spot after a reset".
import { createHistogram, performance } from 'node:perf_hooks';

/** The sampler's interval, in milliseconds. */
export const SAMPLING_INTERVAL_MS = 20;

export interface EventLoopReading {
  /** How long the loop's timers fired late, beyond the sampling interval, in ms: ~0 when idle. */
  readonly delayBeyondIntervalMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Share of the window the loop spent running callbacks, 0..1 (~0 when idle, 1 when blocked). */
  readonly utilization: number;
  /** Seconds the figures cover (since the window was last restarted). */
  readonly windowSeconds: number;
}

export interface EventLoopWindow {
  read(): EventLoopReading;
  /** Starts a new window: later readings cover only what happens from now on. */
  restart(): void;
  close(): void;
}

const NS_PER_MS = 1e6;

export function createEventLoopWindow(intervalMs = SAMPLING_INTERVAL_MS): EventLoopWindow {
  const histogram = createHistogram();
  let lastFired = performance.now();
  const sampler = setInterval(() => {
    const now = performance.now();
    histogram.record(Math.max(1, Math.round((now - lastFired) * NS_PER_MS)));
    lastFired = now;
  }, intervalMs);
  sampler.unref();
  let startedAt = performance.now();
  let eluAtStart = performance.eventLoopUtilization();
  // A sample is interval + delay; percentiles of (sample - interval) are the sample percentiles minus it.
  const beyond = (ns: number) => Math.max(0, Math.round((ns / NS_PER_MS - intervalMs) * 100) / 100);
  return {
    read() {
      const empty = histogram.count === 0;
      return {
        delayBeyondIntervalMs: {
          p50: empty ? 0 : beyond(histogram.percentile(50)),
          p99: empty ? 0 : beyond(histogram.percentile(99)),
          max: empty ? 0 : beyond(histogram.max),
        },
        utilization:
          Math.round(
            performance.eventLoopUtilization(performance.eventLoopUtilization(), eluAtStart).utilization *
              1000,
          ) / 1000,
        windowSeconds: Math.round(performance.now() - startedAt) / 1000,
      };
    },
    restart() {
      histogram.reset();
      startedAt = performance.now();
      eluAtStart = performance.eventLoopUtilization();
    },
    close() {
      clearInterval(sampler);
    },
  };
}
