// Regression tests for the classes of client mistakes once answered as the service's own
// failure (5xx, Sentry, error logs), one describe per class, against the real process in production.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, before, describe, type TestContext, test } from 'node:test';
import { brotliCompressSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { collectOutput, freePort } from '../support/process.ts';
import { encodeRequest, RawPool, type RawRequest, type RawResponse } from '../support/raw-http.ts';
import { startRedis } from '../support/redis-server.ts';
import type { SentryReceiver } from '../support/sentry-receiver.ts';
import {
  ADMIN_TOKEN,
  API_TOKEN,
  metricValue,
  type ServiceProcess,
  spawnRaw,
} from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';

const MAX_HEADER_BYTES = 8_192;
const SECURITY_HEADERS = [
  'content-security-policy',
  'x-content-type-options',
  'x-frame-options',
  'referrer-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'strict-transport-security',
  'cache-control',
];
const write: [string, string][] = [
  ['Authorization', `Bearer ${API_TOKEN}`],
  ['Content-Type', 'application/json'],
];
const utf8 = (s: string) => Buffer.from(s, 'utf8');

let svc: ServiceProcess;
let sentry: SentryReceiver;
let pool: RawPool;
const cleanups: (() => void | Promise<void>)[] = [];

async function send(r: RawRequest): Promise<RawResponse> {
  return pool.send(encodeRequest(r), { head: r.method === 'HEAD' });
}

async function securityEvents(type: string): Promise<number> {
  const text = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  return metricValue(text, `security_events_total{type="${type}"}`) ?? 0;
}

/** A 4xx problem+json of the given type with every security header. */
function assertProblem(res: RawResponse, status: number, type: string): Record<string, unknown> {
  const body = res.body.toString('utf8');
  assert.equal(res.status, status, body);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  for (const h of SECURITY_HEADERS) assert.ok(res.headers[h], `security header ${h} missing`);
  const problem = JSON.parse(body) as Record<string, unknown>;
  assert.equal(problem.type, `/problems/${type}`);
  assert.equal(problem.status, status);
  assert.equal(typeof problem.title, 'string');
  return problem;
}

/** What a client mistake must never cause: error logs, Sentry events, 5xx series. */
async function assertNothingOfOurs(logsBefore: number): Promise<void> {
  const errors = svc.logs
    .slice(logsBefore)
    .filter(
      (l) => l.level === 'error' || l.level === 'fatal' || (typeof l.level === 'number' && l.level >= 50),
    );
  assert.deepEqual(errors, [], 'no log line at error level or above');
  assert.deepEqual(sentry.events(), [], 'nothing reaches Sentry');
  const text = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  assert.doesNotMatch(text, /http_response_status_code="5\d\d"/, 'no 5xx series');
}

async function storedNames(): Promise<string[]> {
  const res = await fetch(`${svc.url}/api/v1/items?limit=100`);
  const page = (await res.json()) as { items: { name: string }[] };
  return page.items.map((i) => i.name);
}

before(async () => {
  const t = { after: (fn: () => void | Promise<void>) => cleanups.push(fn) } as unknown as TestContext;
  const redis = await startRedis(t);
  ({ svc, sentry } = await startTracedService(t, {
    otlp: false,
    sentry: true,
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      ADMIN_TOKEN,
      HTTP_MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      SHUTDOWN_DELAY_MS: '0',
      RATE_LIMIT_GENERAL_POINTS: '100000',
      RATE_LIMIT_API_POINTS: '100000',
    },
  }));
  pool = RawPool.forUrl(svc.url);
  cleanups.push(() => pool.close());
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('bad path encoding', () => {
  test('when a path carries a malformed percent-escape (truncated sequence, lone %, bad hex, encoded surrogate), then 400 /problems/bad-path-encoding, a security event, and nothing of ours', async () => {
    const logs = svc.logs.length;
    const events = await securityEvents('invalid_input');
    for (const target of [
      '/api/v1/items/%E0%A4%A',
      '/api/v1/items/%',
      '/api/v1/items/%G1',
      '/api/v1/items/%ED%A0%80',
    ])
      for (const method of ['GET', 'PATCH', 'DELETE'])
        assertProblem(await send({ method, target, headers: write }), 400, 'bad-path-encoding');
    assert.ok((await securityEvents('invalid_input')) >= events + 12, 'counted as invalid_input');
    await svc.waitForLog((l) => l.level === 'warn' && l.event === 'invalid_input');
    await assertNothingOfOurs(logs);
  });
});

describe('unparseable request target', () => {
  test('when the target is one url.parse refuses (an unclosed [ after //, with # or a space), then 400 /problems/malformed-request, a security event, and nothing of ours', async () => {
    const logs = svc.logs.length;
    const events = await securityEvents('invalid_input');
    for (const target of ['//a@[/%00?=#', '//a@[/x#', '//b@[/api/v1/items#x', '//a@[/ b'])
      for (const method of ['GET', 'POST', 'DELETE'])
        assertProblem(await send({ method, target, headers: write }), 400, 'malformed-request');
    assert.ok((await securityEvents('invalid_input')) >= events + 12, 'counted as invalid_input');
    await svc.waitForLog((l) => l.level === 'warn' && l.event === 'invalid_input');
    await assertNothingOfOurs(logs);
  });
});

describe('corrupt or unsupported compressed body', () => {
  test('when a body is not what its Content-Encoding says (gzip, deflate, br, zstd: garbage or truncated), then 400 /problems/malformed-body and nothing is stored', async () => {
    const logs = svc.logs.length;
    const before = await storedNames();
    const item = utf8(JSON.stringify({ name: 'compressed', quantity: 1 }));
    const cases: [string, Uint8Array][] = [
      ['gzip', utf8('garbage')],
      ['deflate', utf8('garbage')],
      ['br', utf8('garbage')],
      ['zstd', utf8('garbage')],
      ['gzip', gzipSync(item).subarray(0, 12)],
      ['br', brotliCompressSync(item).subarray(0, 5)],
      ['zstd', zstdCompressSync(item).subarray(0, 10)],
    ];
    for (const [encoding, body] of cases)
      assertProblem(
        await send({
          method: 'POST',
          target: '/api/v1/items',
          headers: [...write, ['Content-Encoding', encoding]],
          body,
        }),
        400,
        'malformed-body',
      );
    assert.deepEqual(await storedNames(), before);
    await assertNothingOfOurs(logs);
  });

  test('when the Content-Encoding is unknown or stacked, then 415 /problems/unsupported-encoding', async () => {
    const logs = svc.logs.length;
    for (const encoding of ['x-unknown', 'compress', 'gzip, br'])
      assertProblem(
        await send({
          method: 'POST',
          target: '/api/v1/items',
          headers: [...write, ['Content-Encoding', encoding]],
          body: gzipSync('{"name":"x","quantity":1}'),
        }),
        415,
        'unsupported-encoding',
      );
    await assertNothingOfOurs(logs);
  });

  test('when a correctly compressed body arrives, then it is stored as sent (the mapping refuses only the broken ones)', async () => {
    const res = await send({
      method: 'POST',
      target: '/api/v1/items',
      headers: [...write, ['Content-Encoding', 'br']],
      body: brotliCompressSync('{"name":"brotli ok","quantity":2}'),
    });
    assert.equal(res.status, 201, res.body.toString());
    assert.ok((await storedNames()).includes('brotli ok'));
  });
});

describe('invalid text', () => {
  const post = (body: Uint8Array, contentType = 'application/json') =>
    send({
      method: 'POST',
      target: '/api/v1/items',
      headers: [
        ['Authorization', `Bearer ${API_TOKEN}`],
        ['Content-Type', contentType],
      ],
      body,
    });

  test('when a name holds a C0 control (NUL, ESC, newline, tab), a lone surrogate, or the body is not UTF-8, then 400 /problems/invalid-text and nothing is stored', async () => {
    const logs = svc.logs.length;
    const before = await storedNames();
    const events = await securityEvents('invalid_input');
    for (const name of ['a\u0000b', 'a\u001bb', 'a\nb', 'a\tb', 'a\u007fb', 'a\ud800b', '\udc00'])
      assertProblem(await post(utf8(JSON.stringify({ name, quantity: 1 }))), 400, 'invalid-text');
    for (const bad of [[0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98]]) {
      const body = Buffer.concat([utf8('{"name":"a'), Buffer.from(bad), utf8('","quantity":1}')]);
      const problem = assertProblem(await post(body), 400, 'invalid-text');
      assert.match(String(problem.detail), /UTF-8/);
    }
    // The same in a PATCH, and a key that is not well-formed.
    const created = await post(utf8('{"name":"patch me","quantity":1}'));
    const id = (JSON.parse(created.body.toString()) as { id: string }).id;
    assertProblem(
      await send({
        method: 'PATCH',
        target: `/api/v1/items/${id}`,
        headers: write,
        body: utf8('{"name":"x\\u0000"}'),
      }),
      400,
      'invalid-text',
    );
    assertProblem(await post(utf8('{"\\ud800":1}')), 400, 'invalid-text');
    assert.deepEqual(await storedNames(), [...before, 'patch me']);
    assert.ok((await securityEvents('invalid_input')) >= events + 14);
    await assertNothingOfOurs(logs);
  });

  test('when a query string or path segment holds a control character, then 400 /problems/invalid-text', async () => {
    for (const target of ['/api/v1/items?limit=%00', '/api/v1/items?offset=1%0A', '/api/v1/items/%00'])
      assertProblem(await send({ method: 'GET', target, headers: [] }), 400, 'invalid-text');
  });

  test('when a JSON body declares a charset other than UTF-8, then 415 and nothing is decoded with replacement characters', async () => {
    for (const charset of ['utf-16le', 'utf-32', 'latin1'])
      assert.equal(
        (await post(utf8('{"name":"x","quantity":1}'), `application/json; charset=${charset}`)).status,
        415,
      );
  });

  test('when text is well-formed (accents, emoji, a BOM before the JSON), then it is stored exactly as sent', async () => {
    const name = 'Crème brûlée 😀 漢字';
    const res = await post(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(JSON.stringify({ name, quantity: 3 }))]),
    );
    assert.equal(res.status, 201, res.body.toString());
    assert.equal((JSON.parse(res.body.toString('utf8')) as { name: string }).name, name);
    assert.ok((await storedNames()).includes(name));
  });
});

describe('node-level client errors', () => {
  test('when a header holds a control byte, the head exceeds HTTP_MAX_HEADER_BYTES, or the method is unknown, then a problem+json with the security headers, a warn line and a security event, then the connection closes', async () => {
    const logs = svc.logs.length;
    const events = await securityEvents('invalid_input');
    const bad = await send({ method: 'GET', target: '/api/v1/items', headers: [['X-Odd', 'a\u0001b']] });
    assertProblem(bad, 400, 'malformed-request');
    assert.equal(bad.closed, true, 'the connection is closed afterwards');
    assert.match(String(JSON.parse(bad.body.toString()).instance), /^urn:uuid:/);
    assertProblem(
      await send({
        method: 'GET',
        target: '/api/v1/items',
        headers: [['X-Big', 'x'.repeat(MAX_HEADER_BYTES + 100)]],
      }),
      431,
      'headers-too-large',
    );
    assertProblem(
      await send({ method: 'FOO', target: '/api/v1/items', headers: [] }),
      400,
      'malformed-request',
    );
    assertProblem(
      await send({ method: 'GET', target: '/api/v1/ items', headers: [] }),
      400,
      'malformed-request',
    );
    assert.ok((await securityEvents('invalid_input')) >= events + 4);
    const line = await svc.waitForLog(
      (l) =>
        l.event === 'invalid_input' && (l.details as { reason?: string })?.reason === 'HPE_HEADER_OVERFLOW',
    );
    assert.equal(line.level, 'warn');
    await assertNothingOfOurs(logs);
  });

  test('when a client sends half a head and stops, then after HTTP_HEADERS_TIMEOUT_MS it gets 408 /problems/request-timeout and a request_timeout event', async () => {
    const events = await securityEvents('request_timeout');
    const res = await pool.send(Buffer.from('GET /api/v1/items HTTP/1.1\r\nHost: x\r\nX-Slow: '), {
      timeoutMs: 10_000,
    });
    assertProblem(res, 408, 'request-timeout');
    assert.equal(await securityEvents('request_timeout'), events + 1);
  });

  test('when a client announces a body and sends only part of it, then after HTTP_REQUEST_TIMEOUT_MS it gets 408 /problems/request-timeout and nothing of ours', async () => {
    const logs = svc.logs.length;
    const head = `POST /api/v1/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`;
    const res = await pool.send(Buffer.from(head), { timeoutMs: 10_000 });
    assertProblem(res, 408, 'request-timeout');
    await assertNothingOfOurs(logs);
  });

  test('when a request lacks Host, carries an Expect other than 100-continue, or uses CONNECT, then problem+json (400, 417, 405) instead of Node bare answers', async () => {
    assertProblem(
      await send({ method: 'GET', target: '/api/v1/items', headers: [], host: false }),
      400,
      'malformed-request',
    );
    assertProblem(
      await send({ method: 'GET', target: '/api/v1/items', headers: [['Expect', 'garbage']] }),
      417,
      'expectation-failed',
    );
    assertProblem(
      await send({ method: 'CONNECT', target: '127.0.0.1:80', headers: [] }),
      405,
      'method-not-allowed',
    );
  });

  test('when the client error answer is compared with an ordinary response, then it carries the same security header values', async () => {
    const ordinary = await send({ method: 'GET', target: '/nowhere', headers: [] });
    const raw = await send({ method: 'GET', target: '/api/v1/items', headers: [['X-Odd', 'a\u0001b']] });
    for (const h of SECURITY_HEADERS) assert.equal(raw.headers[h], ordinary.headers[h], h);
  });
});

describe('start-up failures', () => {
  const PROD = {
    NODE_ENV: 'production',
    API_TOKENS: 'prod-token',
    ADMIN_TOKEN: 'a'.repeat(40),
    REDIS_URL: 'redis://127.0.0.1:1',
    HOST: '127.0.0.1',
    METRICS_HOST: '127.0.0.1',
    DATABASE_PATH: ':memory:',
  };

  async function refusal(env: Record<string, string>): Promise<string> {
    const child = spawnRaw(env);
    const output = collectOutput(child);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = await output.closed;
    clearTimeout(timer);
    const stderr = output.stderr();
    assert.equal(code, 1, `exit code; stderr:\n${stderr}`);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    const lines = stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `one line:\n${stderr}`);
    return lines[0] as string;
  }

  async function occupiedPort(t: TestContext): Promise<number> {
    const port = await freePort();
    const blocker = createServer();
    blocker.listen(port, '127.0.0.1');
    await once(blocker, 'listening');
    t.after(() => new Promise<void>((r) => blocker.close(() => r())));
    return port;
  }

  test('when PORT is taken by another process, then one line names PORT and the cause, exit 1', async (t) => {
    const port = await occupiedPort(t);
    const line = await refusal({ ...PROD, PORT: String(port), METRICS_PORT: String(await freePort()) });
    assert.match(
      line,
      new RegExp(`^Refusing to start: PORT: 127\\.0\\.0\\.1:${port} is already in use .*choose another PORT`),
    );
  });

  test('when METRICS_PORT is taken by another process, then one line names METRICS_PORT, exit 1', async (t) => {
    const port = await occupiedPort(t);
    const line = await refusal({ ...PROD, PORT: String(await freePort()), METRICS_PORT: String(port) });
    assert.match(line, /^Refusing to start: METRICS_PORT: .* is already in use/);
  });

  test('when the DATABASE_PATH directory cannot be written (read-only sysfs, a file in the way, a missing directory under /proc), then one line names DATABASE_PATH, exit 1', async () => {
    // /proc/x/...: Node's recursive mkdir retries there forever; the start-up must still end.
    for (const path of ['/sys/items.db', '/etc/hostname/items.db', '/proc/x/y/items.db']) {
      const line = await refusal({ ...PROD, PORT: '0', METRICS_PORT: '0', DATABASE_PATH: path });
      assert.match(line, /^Refusing to start: DATABASE_PATH: cannot open .* for writing/);
    }
  });

  test('when REDIS_URL is malformed (no scheme, another scheme, no host), then one line names REDIS_URL, exit 1', async () => {
    for (const url of ['localhost:6379', 'http://127.0.0.1:6379', 'redis:///tmp/redis.sock'])
      assert.match(
        await refusal({ ...PROD, PORT: '0', METRICS_PORT: '0', REDIS_URL: url }),
        /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/,
      );
  });
});
