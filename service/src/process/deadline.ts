// The one bounded wait: closing connections, flushing telemetry, readiness (docs/decisions.md, "One
// bounded wait"). Imports nothing, so the preload (telemetry/) and the log-record worker may use it.

/**
 * True when `work` settled (fulfilled or rejected) within `ms`, false when the deadline passed first;
 * never rejects: the work's own outcome stays on the work. The timer is cleared when the work settles
 * and, unless `ref` is set, does not keep the process alive on its own.
 */
export function withDeadline(work: Promise<unknown>, ms: number, { ref = false } = {}): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, ms, false);
    if (!ref) timer.unref();
  });
  const settled = work.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, deadline]).finally(() => clearTimeout(timer));
}
