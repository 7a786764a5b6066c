// The instruction-count section reads a stack counted several times as its median and range, so a
// difference between two such stacks can be read against their spread rather than one count.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { type InstructionResults, instructionSection } from '../../bench/investigate/instructions.ts';

const header = {
  startedAt: '2026-11-30T00:00:00.000Z',
  finishedAt: '2026-11-30T00:30:00.000Z',
  loadBefore: [0, 0, 0],
  loadAfter: [0, 0, 0],
  pinned: true,
  machine: {
    cpuModel: 'test',
    cores: 2,
    memoryGiB: 1,
    kernel: 'test',
    node: 'v24',
    redis: 'test',
    commit: 'abc1234',
    versions: {},
  },
};

const run = (variant: string, label: string, instructions: number, idle: number, spans: number) => ({
  variant,
  label,
  route: 'hello' as const,
  requests: 1000,
  instructions,
  idleInstructions: idle,
  spans,
  seconds: 10,
  startSeconds: 5,
});

const BARE = 'Express 5, bare';
const TEMPLATE = 'template, full production configuration';

const results: InstructionResults = {
  kind: 'instructions',
  ...header,
  settings: { warmupRequests: 1000, requests: 1000, connections: 4 },
  runs: [
    run('bare', BARE, 300_000_000, 30_000, 0),
    // Three counts of the template, in the order they ran: the median is the middle one (2.4 M).
    run('template', TEMPLATE, 2_700_000_000, 100_000_000, 2010),
    run('template', TEMPLATE, 2_100_000_000, 20_000_000, 2000),
    run('template', TEMPLATE, 2_400_000_000, 60_000_000, 2020),
  ],
};

const rowOf = (lines: string[], label: string) => lines.find((l) => l.startsWith(`| ${label} |`));

test('when a stack was counted three times, then one row gives the median count, the range and median spans and idle work', () => {
  const lines = instructionSection(results);
  assert.equal(lines.filter((l) => l.startsWith(`| ${TEMPLATE} |`)).length, 1, 'one row per stack');
  assert.equal(
    rowOf(lines, TEMPLATE),
    `| ${TEMPLATE} | 2,400,000 | 2,100,000–2,700,000 (3) | 8.00 | 12.5 % | 2.01 | 60,000 |`,
  );
  assert.equal(rowOf(lines, BARE), `| ${BARE} | 300,000 | – | 1.00 | 100.0 % | 0.00 | 30 |`);
  const verdict = lines.find((l) => l.startsWith('By this count'));
  assert.match(
    verdict ?? '',
    /does 8\.0× the work of bare Express per request \(7\.0–9\.0× over its 3 counts\)/,
  );
  assert.match(lines.join('\n'), /counted 3 times, each in a new process/);
});

test('when every stack was counted once, then the range column is empty and the text says so', () => {
  const once = { ...results, runs: results.runs.slice(0, 2) };
  const lines = instructionSection(once);
  assert.equal(rowOf(lines, TEMPLATE), `| ${TEMPLATE} | 2,700,000 | – | 9.00 | 11.1 % | 2.01 | 100,000 |`);
  assert.match(lines.join('\n'), /Each stack was counted once\./);
  assert.doesNotMatch(lines.find((l) => l.startsWith('By this count')) ?? '', /over its/);
});
