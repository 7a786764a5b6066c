// Every error path answers application/problem+json.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDependencies } from '../../src/dependencies.ts';
import { expectProblem, jsonHeaders, LogCapture, startTestService } from '../helpers.ts';

test('when a route does not exist, then 404 problem+json for any method', async (t) => {
  const svc = await startTestService(t);
  for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
    const body = await expectProblem(await svc.fetch('/no/such/route?x=1', { method }), 404);
    assert.equal(body.instance, '/no/such/route');
  }
});

test('when a handler throws outside development, then 500 problem+json hides the message and stack', async (t) => {
  const svc = await startTestService(t);
  const body = await expectProblem(await svc.fetch('/api/debug/error'), 500);
  assert.equal(body.detail, 'An unexpected error occurred.');
  assert.doesNotMatch(JSON.stringify(body), /Deliberate|at |\.ts/);
  const logged = svc.logs.lines.find((l) => l.msg === 'unexpected error');
  assert.ok(logged, 'the error is logged');
});

test('when NODE_ENV is production, then /api/debug/error does not exist', async () => {
  const config = loadConfig({
    NODE_ENV: 'production',
    API_TOKENS: 'a',
    ADMIN_TOKEN: 'x'.repeat(32),
    REDIS_URL: 'redis://127.0.0.1:1',
    DATABASE_PATH: ':memory:',
  });
  const deps = await createDependencies(config, { logDestination: new LogCapture().stream });
  const app = createApp(deps);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as { port: number };
    await expectProblem(await fetch(`http://127.0.0.1:${port}/api/debug/error`), 404);
  } finally {
    server.close();
    await deps.close();
  }
});

test('when a write is not JSON, then 415 problem+json', async (t) => {
  const svc = await startTestService(t);
  const res = await svc.fetch('/api/v1/items', {
    method: 'POST',
    headers: { ...jsonHeaders(), 'content-type': 'text/plain' },
    body: 'name=x',
  });
  await expectProblem(res, 415);
});
