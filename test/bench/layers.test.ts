// The benchmark's per-layer toggles reach the middleware the template runs as one series: a layer
// kept alone still acts, and the layers removed from inside the series no longer do.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { keepOnlyLayers } from '../../bench/servers/layers.ts';
import { startTestService } from '../../service/test/helpers.ts';

test('when only helmet is kept, then responses carry its headers but no request id (removed from inside the series)', async (t) => {
  // The app is taken apart on purpose, so its responses no longer match the OpenAPI document.
  const svc = await startTestService(t, {}, { checkContract: false });
  const before = await svc.fetch('/api/v1/items');
  assert.ok(before.headers.get('x-request-id'), 'the full app sets a request id');
  keepOnlyLayers(svc.app, svc.deps, ['helmet']);
  const res = await svc.fetch('/api/v1/items');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('x-request-id'), null);
});
