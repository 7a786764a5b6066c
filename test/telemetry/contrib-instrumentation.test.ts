// A contrib instrumentation the template does not enable (ioredis, a devDependency here) is turned on
// by naming it in OTEL_NODE_ENABLED_INSTRUMENTATIONS; its spans then join the request's trace. A name
// whose package is not installed refuses the start on one line.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { test } from 'node:test';
import { startRedis } from '../support/redis-server.ts';
import { spawnRaw } from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';

const SERVER = 2;
const IOREDIS = '@opentelemetry/instrumentation-ioredis';

async function redisSpansOfOneRequest(t: import('node:test').TestContext, env: Record<string, string>) {
  const redis = await startRedis(t);
  const { svc, otlp } = await startTracedService(t, { env: { REDIS_URL: redis.url, ...env } });
  // The limiter starts on its in-memory fallback until the Redis connection is ready (seen on a
  // loaded machine): the request must be counted on Redis to make Redis calls at all.
  for (const deadline = Date.now() + 15_000; ; ) {
    const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    const onRedis = metrics
      .split('\n')
      .some(
        (l) =>
          l.startsWith('rate_limit_backend{') &&
          /tier="api"/.test(l) &&
          /backend="redis"/.test(l) &&
          l.endsWith(' 1'),
      );
    if (onRedis) break;
    assert.ok(Date.now() < deadline, 'the api tier never switched to Redis');
    await new Promise((r) => setTimeout(r, 100));
  }
  const id = `contrib-${Date.now()}`;
  assert.equal((await fetch(`${svc.url}/api/v1/items`, { headers: { 'x-request-id': id } })).status, 200);
  const server = await otlp.waitForSpan((s) => s.kind === SERVER && s.attributes['http.request.id'] === id);
  // Stopping flushes every span the request made.
  assert.equal(await svc.stop(), 0);
  assert.equal(
    svc.logs.filter((l) => l.level === 'error').length,
    0,
    'the self-check (or anything else) logged an error',
  );
  assert.equal(server.attributes['rate_limit.backend'], 'redis');
  return { server, redisSpans: otlp.spans.filter((s) => s.scope === IOREDIS) };
}

test('when OTEL_NODE_ENABLED_INSTRUMENTATIONS adds ioredis, then the rate limiter’s Redis calls are client spans in the request’s trace', async (t) => {
  const { server, redisSpans } = await redisSpansOfOneRequest(t, {
    OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,undici,pino,ioredis',
  });
  const inRequest = redisSpans.filter((s) => s.traceId === server.traceId);
  assert.ok(inRequest.length > 0, `no ioredis span in the request's trace (${redisSpans.length} in all)`);
  for (const span of inRequest) {
    assert.equal(span.parentSpanId, server.spanId);
    assert.equal(span.attributes['db.system.name'] ?? span.attributes['db.system'], 'redis');
  }
});

test('when the variable is not set, then ioredis is not instrumented (installed is not enabled)', async (t) => {
  const { redisSpans } = await redisSpansOfOneRequest(t, {});
  assert.deepEqual(redisSpans, []);
});

test('when a named instrumentation is not installed, then the service refuses to start on one line', async () => {
  const child = spawnRaw({
    NODE_ENV: 'test',
    DATABASE_PATH: ':memory:',
    PORT: '0',
    METRICS_PORT: '0',
    OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,undici,pino,no-such-thing',
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c));
  child.stderr?.on('data', (c: Buffer) => (stderr += c));
  const [code] = await once(child, 'close');
  assert.equal(code, 1);
  assert.equal(
    stderr,
    'Refusing to start: OTEL_NODE_ENABLED_INSTRUMENTATIONS names the instrumentation "no-such-thing", ' +
      'but @opentelemetry/instrumentation-no-such-thing is not installed (npm install @opentelemetry/instrumentation-no-such-thing)\n',
  );
  assert.equal(stdout, '', 'nothing started');
});
