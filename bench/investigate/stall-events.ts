// What held a server's event loop during a measured window, from the stall probe's events (shared by
// the probe, preloaded into the server, and the stalls mode).
export const STALL_STARTED = '{"stallProbe":"started"}';
export const STALL_WRITTEN = '{"stallProbe":"written"}';
/** A loop turn longer than this is a stall (the probe's timer asks for one turn per millisecond). */
export const STALL_MS = 2;

/** One interval on the server's clock (performance.now(), ms): what it was, when, how long. */
export interface ProbeEvent {
  /** `export-*`: one OTLP encoding run (a serializer call: a whole batch, or a chunk of one). */
  readonly kind: 'stall' | 'gc' | 'export-spans' | 'export-logs';
  readonly startMs: number;
  readonly durationMs: number;
  /** Spans or log records encoded in the run (export-* only). */
  readonly items?: number;
}

export interface ProbeRecord {
  readonly fromMs: number;
  readonly toMs: number;
  readonly events: ProbeEvent[];
}

/** Stalls at least this long are the ones a fixed-rate p99 is made of; they are blamed one by one. */
export const LONG_STALL_MS = 5;

export interface PauseFigures {
  perSecond: number;
  meanMs: number;
  maxMs: number;
  /** Share of the window's wall time. */
  share: number;
}

export interface ExportFigures extends PauseFigures {
  itemsPerCall: number;
}

export interface StallSummary {
  seconds: number;
  stalls: PauseFigures & { longPerSecond: number };
  gc: PauseFigures;
  exportSpans: ExportFigures;
  exportLogs: ExportFigures;
  /** Of the long stalls: how many overlapped a GC pause, an encoding run (and not a pause), or neither. */
  long: { count: number; withGc: number; withExport: number; neither: number };
}

function figures(events: readonly ProbeEvent[], seconds: number): PauseFigures {
  const total = events.reduce((a, e) => a + e.durationMs, 0);
  return {
    perSecond: events.length / seconds,
    meanMs: events.length > 0 ? total / events.length : Number.NaN,
    maxMs: events.reduce((a, e) => Math.max(a, e.durationMs), 0),
    share: total / (seconds * 1000),
  };
}

const overlaps = (a: ProbeEvent, b: ProbeEvent) =>
  a.startMs < b.startMs + b.durationMs && b.startMs < a.startMs + a.durationMs;

export function summariseStalls(record: ProbeRecord): StallSummary {
  const seconds = (record.toMs - record.fromMs) / 1000;
  const of = (kind: ProbeEvent['kind']) => record.events.filter((e) => e.kind === kind);
  const stalls = of('stall');
  const gc = of('gc');
  const exports = [...of('export-spans'), ...of('export-logs')];
  const withItems = (events: readonly ProbeEvent[]): ExportFigures => ({
    ...figures(events, seconds),
    itemsPerCall:
      events.length > 0 ? events.reduce((a, e) => a + (e.items ?? 0), 0) / events.length : Number.NaN,
  });
  const long = stalls.filter((s) => s.durationMs >= LONG_STALL_MS);
  const withGc = long.filter((s) => gc.some((g) => overlaps(s, g))).length;
  const withExport = long.filter(
    (s) => !gc.some((g) => overlaps(s, g)) && exports.some((x) => overlaps(s, x)),
  ).length;
  return {
    seconds,
    stalls: { ...figures(stalls, seconds), longPerSecond: long.length / seconds },
    gc: figures(gc, seconds),
    exportSpans: withItems(of('export-spans')),
    exportLogs: withItems(of('export-logs')),
    long: { count: long.length, withGc, withExport, neither: long.length - withGc - withExport },
  };
}
