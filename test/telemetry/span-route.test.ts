// The server span takes its route from the app's own routing (no Express instrumentation): every
// request a route handled, including its client errors, 404s and 500s, has `http.route` and the name
// `METHOD route`; a request no route handled keeps the HTTP instrumentation's name and no route.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { startTracedService } from '../support/traced-service.ts';

const SERVER = 2;
const MISSING = '0b7c1a52-9f1c-4f0e-8b7e-4ad1c2a1f001';

test('when requests end in 200, 400, 401, 404 and 500 or match no route, then each server span is named and routed by the route that handled it', async (t) => {
  const { svc, otlp } = await startTracedService(t);
  const cases: [method: string, path: string, status: number, name: string, route: string | undefined][] = [
    ['GET', '/api/v1/items?limit=1', 200, 'GET /api/v1/items', '/api/v1/items'],
    ['GET', '/api/v1/items/not-a-uuid', 400, 'GET /api/v1/items/:id', '/api/v1/items/:id'],
    ['GET', `/api/v1/items/${MISSING}`, 404, 'GET /api/v1/items/:id', '/api/v1/items/:id'],
    ['POST', '/api/v1/items', 401, 'POST /api/v1/items', '/api/v1/items'],
    ['GET', '/api/debug/error', 500, 'GET /api/debug/error', '/api/debug/error'],
    ['GET', '/api/health/ready', 200, 'GET /api/health/ready', '/api/health/ready'],
    ['GET', '/no/such/route', 404, 'GET', undefined],
  ];
  for (const [i, [method, path, status, name, route]] of cases.entries()) {
    const id = `route-${i}`;
    const res = await fetch(`${svc.url}${path}`, { method, headers: { 'x-request-id': id } });
    assert.equal(res.status, status, `${method} ${path}`);
    const span = await otlp.waitForSpan((s) => s.kind === SERVER && s.attributes['http.request.id'] === id);
    assert.equal(span.name, name, `${method} ${path}`);
    assert.equal(span.attributes['http.route'], route, `${method} ${path}`);
    assert.equal(span.attributes['http.response.status_code'], status);
    const line = await svc.waitForLog((l) => l.request_id === id);
    assert.equal(line.route, route ?? 'unmatched', 'the access log names the same route');
  }
  assert.equal(await svc.stop(), 0);
});
