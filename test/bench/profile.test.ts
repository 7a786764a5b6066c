// The profile summary's cost centres: a sample is charged to what the request was doing, whichever
// frame is innermost. Checked on a small synthetic V8 .cpuprofile with the call stacks the template
// really has (frames named as the profiler names them: file URLs under node_modules).
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { summariseProfile } from '../../bench/lib/profile.ts';

const NM = 'file:///app/node_modules';
const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
type Frame = ReturnType<typeof frame>;

/** A profile whose every stack (root first) was sampled `ms` milliseconds. */
function profileOf(stacks: { frames: Frame[]; ms: number }[]): string {
  const nodes: { id: number; callFrame: Frame; children: number[] }[] = [
    { id: 1, callFrame: frame('(root)', ''), children: [] },
  ];
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  for (const { frames, ms } of stacks) {
    let parent = nodes[0] as (typeof nodes)[number];
    for (const f of frames) {
      const id = nodes.length + 1;
      nodes.push({ id, callFrame: f, children: [] });
      parent.children.push(id);
      parent = nodes[nodes.length - 1] as (typeof nodes)[number];
    }
    // One sample per millisecond on the innermost frame.
    for (let i = 0; i < ms; i++) {
      samples.push(parent.id);
      timeDeltas.push(1000);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'profile-test-'));
  const file = join(dir, 'test.cpuprofile');
  writeFileSync(
    file,
    JSON.stringify({ nodes, startTime: 0, endTime: samples.length * 1000, samples, timeDeltas }),
  );
  return file;
}

test('when an OTLP batch is encoded in chunks on later loop turns, then each chunk is charged to its signal, not to the server span', (t) => {
  const writer = frame(
    'writeString',
    `${NM}/@opentelemetry/otlp-transformer/dist/common/protobuf/protobuf-writer.mjs`,
  );
  const laterTurn = [
    frame('processImmediate', 'node:internal/timers'),
    frame('#encode', 'file:///app/service/src/telemetry/otlp-export.ts'),
  ];
  const file = profileOf([
    // A span chunk encoded after the first: no batch processor frame on the stack.
    {
      frames: [
        ...laterTurn,
        frame('serializeRequest', `${NM}/@opentelemetry/otlp-transformer/dist/trace/protobuf/trace.mjs`),
        writer,
      ],
      ms: 30,
    },
    // A log-record chunk on a later turn.
    {
      frames: [
        ...laterTurn,
        frame('serializeRequest', `${NM}/@opentelemetry/otlp-transformer/dist/logs/protobuf/logs.mjs`),
        writer,
      ],
      ms: 20,
    },
    // The first chunk, encoded synchronously under the batch processor.
    {
      frames: [
        frame('_flushOneBatch', `${NM}/@opentelemetry/sdk-trace/dist/export/BatchSpanProcessorBase.mjs`),
        frame('export', 'file:///app/service/src/telemetry/otlp-export.ts'),
        writer,
      ],
      ms: 10,
    },
    // The server span itself: the template's own code and the SDK under it.
    {
      frames: [frame('tracedRequest', 'file:///app/service/src/observability/server-span.ts')],
      ms: 25,
    },
    {
      frames: [
        frame('tracedRequest', 'file:///app/service/src/observability/server-span.ts'),
        frame('startSpan', `${NM}/@opentelemetry/sdk-trace/dist/Tracer.mjs`),
      ],
      ms: 15,
    },
  ]);
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  const s = summariseProfile(file);
  const ms = (name: string) => s.byCentre?.find((c) => c.name === name)?.ms;
  assert.equal(s.totalMs, 100);
  assert.equal(ms('OTel spans: batch export (OTLP encoding, HTTP)'), 40);
  assert.equal(ms('OTel log records: batch export (OTLP encoding, HTTP)'), 20);
  assert.equal(ms('OTel server span (server-span.ts, context, span life cycle)'), 40);
});
