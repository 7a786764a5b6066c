// Graceful shutdown and the last-resort error path of the process.
//
// Order on SIGTERM/SIGINT: readiness 503 at once -> keep serving for `delayMs` (load balancers
// notice and stop sending) -> stop listening -> in-flight requests finish -> flush telemetry ->
// close stores -> final telemetry shutdown -> exit 0. A second signal or the deadline
// (delayMs + timeoutMs after the first signal) forces exit 1.
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import type { TelemetryHandle } from '../observability/telemetry-handle.ts';
import { withDeadline } from './deadline.ts';
import type { Lifecycle } from './lifecycle.ts';

export interface ShutdownDeps {
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  /** The API listener first; the metrics listener keeps answering scrapes until the end. */
  readonly servers: readonly Server[];
  readonly delayMs: number;
  readonly timeoutMs: number;
  readonly telemetry: () => TelemetryHandle;
  /** Closes Redis, SQLite and the rest (Dependencies.close). */
  readonly closeResources: () => Promise<void>;
  readonly exit: (code: number) => void;
  /** Responses finished since start, reported when shutdown completes. */
  readonly requestsServed?: () => number;
}

// Keep-alive sockets finish their current request and then sit idle; close them as they become so.
const IDLE_SWEEP_MS = 50;
// Time for a just-accepted connection to deliver its request line before idle sockets are closed.
const FRESH_CONNECTION_GRACE_MS = 250;
const FATAL_FLUSH_MS = 2_000;

const TELEMETRY_MARGIN_MS = 250;

export function installShutdown(deps: ShutdownDeps): { shutdown(reason: string): Promise<void> } {
  const log = deps.logger;
  let started: Promise<void> | undefined;

  const run = async (reason: string) => {
    const deadlineAt = Date.now() + deps.delayMs + deps.timeoutMs;
    // Telemetry gets what the drain left, minus a margin: an unreachable collector must cost
    // telemetry, not turn a clean shutdown into a forced exit 1 at the deadline.
    const margin = Math.min(TELEMETRY_MARGIN_MS, Math.floor(deps.timeoutMs / 4));
    const remaining = () => Math.max(1, deadlineAt - Date.now() - margin);
    const deadline = setTimeout(() => {
      log.error({ timeoutMs: deps.timeoutMs }, 'shutdown deadline exceeded, forcing exit');
      deps.exit(1);
    }, deadlineAt - Date.now());

    log.info({ reason, delayMs: deps.delayMs, timeoutMs: deps.timeoutMs }, 'shutting down');
    deps.lifecycle.startDraining();
    if (deps.delayMs > 0) await sleep(deps.delayMs);

    log.info('closing listener, draining in-flight requests');
    const [api, ...others] = deps.servers;
    if (api) {
      // Stop accepting with net.Server#close, not http.Server#close: the latter also closes "idle"
      // connections at once, and a connection accepted a moment ago is idle until its request is
      // parsed, so its request would be reset (seen as ECONNRESET in the SIGTERM-under-load test).
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(api, () => resolve()));
      await withDeadline(closed, FRESH_CONNECTION_GRACE_MS);
      // Every response since draining began said `Connection: close`; what is still open and idle
      // now is a keep-alive socket that stayed silent through the delay.
      const sweep = setInterval(() => api.closeIdleConnections(), IDLE_SWEEP_MS);
      api.closeIdleConnections();
      await closed;
      clearInterval(sweep);
    }
    await deps.telemetry().flush(remaining());
    await Promise.all(others.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const s of others) s.closeAllConnections();
    await deps.closeResources();
    await deps.telemetry().shutdown(remaining());
    clearTimeout(deadline);
    log.info({ requestsServed: deps.requestsServed?.() }, 'shutdown complete');
    deps.exit(0);
  };

  const shutdown = (reason: string) => {
    if (started) {
      log.warn({ reason }, 'second shutdown signal, forcing exit');
      deps.exit(1);
      return started;
    }
    started = run(reason).catch((err: unknown) => {
      log.fatal({ err }, 'shutdown failed');
      deps.exit(1);
    });
    return started;
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void shutdown(signal));
  return { shutdown };
}

/** Uncaught exceptions and unhandled rejections: log fatal, report, flush within a bound, exit 1. */
export function installFatalHandlers(deps: Pick<ShutdownDeps, 'logger' | 'telemetry' | 'exit'>): void {
  let dying = false;
  const die = (err: unknown, origin: string) => {
    deps.logger.fatal({ err, origin }, 'fatal error, exiting');
    if (dying) return;
    dying = true;
    // The process state is unknown now: report and leave, without waiting for requests.
    const telemetry = deps.telemetry();
    telemetry.captureException(err);
    // A ref'd deadline: the process must reach exit(1) even when nothing else holds it open.
    void withDeadline(telemetry.flush(FATAL_FLUSH_MS), FATAL_FLUSH_MS + 100, { ref: true }).then(() =>
      deps.exit(1),
    );
  };
  process.on('uncaughtException', (err, origin) => die(err, origin));
  process.on('unhandledRejection', (reason) => die(reason, 'unhandledRejection'));
}
