// The stall probe's verdicts: which long event-loop turns the report blames on a GC pause, on an
// OTLP encoding run, or on neither, and the rates it derives from the recorded window.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { LONG_STALL_MS, type ProbeEvent, summariseStalls } from '../../bench/investigate/stall-events.ts';

const at = (kind: ProbeEvent['kind'], startMs: number, durationMs: number, items?: number): ProbeEvent => ({
  kind,
  startMs,
  durationMs,
  ...(items === undefined ? {} : { items }),
});

test('when long stalls overlap a GC pause, an encoding run or nothing, then each is blamed once, GC first', () => {
  const s = summariseStalls({
    fromMs: 0,
    toMs: 2000,
    events: [
      // Overlaps a GC pause and an encoding run: the pause wins.
      at('stall', 100, 8),
      at('gc', 102, 3),
      at('export-spans', 101, 6, 512),
      // Overlaps only an encoding run.
      at('stall', 500, 7),
      at('export-logs', 503, 4, 100),
      // Overlaps nothing (the GC pause ends before it starts).
      at('stall', 900, LONG_STALL_MS),
      at('gc', 880, 2),
      // Too short to be blamed, but still a stall.
      at('stall', 1500, LONG_STALL_MS - 1),
    ],
  });
  assert.deepEqual(s.long, { count: 3, withGc: 1, withExport: 1, neither: 1 });
  assert.equal(s.seconds, 2);
  assert.equal(s.stalls.perSecond, 2);
  assert.equal(s.stalls.longPerSecond, 1.5);
  assert.equal(s.stalls.maxMs, 8);
  assert.equal(s.gc.perSecond, 1);
  assert.equal(s.gc.meanMs, 2.5);
  assert.equal(s.exportSpans.itemsPerCall, 512);
  assert.equal(s.exportLogs.itemsPerCall, 100);
  // Share of wall time: 6 ms of span encoding in a 2 s window.
  assert.equal(s.exportSpans.share, 6 / 2000);
});

test('when a window has no encoding run at all, then the export figures say so instead of dividing by zero', () => {
  const s = summariseStalls({ fromMs: 10, toMs: 1010, events: [at('stall', 20, 3)] });
  assert.equal(s.exportSpans.perSecond, 0);
  assert.ok(Number.isNaN(s.exportSpans.meanMs));
  assert.ok(Number.isNaN(s.exportSpans.itemsPerCall));
  assert.deepEqual(s.long, { count: 0, withGc: 0, withExport: 0, neither: 0 });
});
