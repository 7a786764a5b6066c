// How the benchmark starts the template: with the start command's node flags, and an informational
// row that leaves one of them out really runs without it (or refuses to run at all).
import { strict as assert } from 'node:assert';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { allVariants, launchSpec, NO_PRETENURING, type Variant } from '../../bench/lib/variants.ts';

const ctx = {
  root: resolve(import.meta.dirname, '..', '..'),
  redisUrl: 'redis://127.0.0.1:1',
  otlpUrl: 'http://127.0.0.1:1',
  sentryDsn: 'http://public@127.0.0.1:1/1',
  databasePath: '/nonexistent/items.db',
};
const variant = (id: string): Variant => {
  const v = allVariants().find((x) => x.id === id);
  assert.ok(v, `no variant ${id}`);
  return v;
};

test('when the full template is launched, then it gets the GC flag of `npm start`; the pretenuring row drops only that flag', () => {
  const full = launchSpec(variant('template'), ctx).args;
  const v8 = launchSpec(variant('template-v8-pretenuring'), ctx).args;
  assert.ok(full.includes(NO_PRETENURING));
  assert.ok(!v8.includes(NO_PRETENURING));
  assert.deepEqual(
    v8,
    full.filter((a) => a !== NO_PRETENURING),
  );
});

test('when a row drops a flag the start command does not have, then launching it fails instead of measuring the full template twice', () => {
  const stale: Variant = { ...variant('template-v8-pretenuring'), withoutNodeFlags: ['--no-such-flag'] };
  assert.throws(() => launchSpec(stale, ctx), /drops --no-such-flag, which the start command no longer has/);
});
