// The benchmark's per-layer toggles reach the service by createApp's layer names: a layer kept alone
// still acts, and the layers left out no longer do.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { APP_LAYERS } from '../../bench/lib/variants.ts';
import { createApp } from '../../service/src/app.ts';
import { startTestService } from '../../service/test/helpers.ts';

test('when only helmet is kept, then responses carry its headers but no request id', async (t) => {
  const without = Object.entries(APP_LAYERS).flatMap(([layer, names]) => (layer === 'helmet' ? [] : names));
  // The app is taken apart on purpose, so its responses no longer match the OpenAPI document.
  const svc = await startTestService(t, {}, { checkContract: false, app: { without } });
  const res = await svc.fetch('/api/v1/items');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('x-request-id'), null);
  // The rate-limit tiers are left out too: no RateLimit header on an /api/v1 answer.
  assert.equal(res.headers.get('ratelimit'), null);
});

test('when the full app runs, then the same response has a request id and rate-limit headers', async (t) => {
  const svc = await startTestService(t);
  const res = await svc.fetch('/api/v1/items');
  assert.ok(res.headers.get('x-request-id'));
  assert.ok(res.headers.get('ratelimit'));
});

test('when a layer name is unknown, then createApp refuses it instead of keeping the layer', async (t) => {
  const svc = await startTestService(t);
  assert.throws(
    () => createApp(svc.deps, { without: ['no-such-layer' as 'cors'] }),
    /no layer named no-such-layer/,
  );
});
