// The root logger: identity on every line, credentials redacted wherever they sit.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createLogger, redactSecrets } from '../../src/observability/logger.ts';
import { LogCapture } from '../helpers.ts';

const capturedLogger = () => {
  const capture = new LogCapture();
  const log = createLogger({
    level: 'info',
    serviceName: 'svc',
    environment: 'test',
    destination: capture.stream,
  });
  return { capture, log };
};

test('when a logged object holds credentials, then they are redacted and service and environment are on the line', () => {
  const { capture, log } = capturedLogger();
  log.info(
    {
      body: { name: 'ok', password: 'p4ss', token: 't0k' },
      headers: { authorization: 'Bearer abc', cookie: 'sid=abc', accept: 'json' },
      client: { api_key: 'k3y', secret: 's3c' },
    },
    'something happened',
  );
  const line = capture.lines[0] ?? {};
  assert.equal(line.service, 'svc');
  assert.equal(line.environment, 'test');
  assert.deepEqual(line.body, { name: 'ok', password: '[REDACTED]', token: '[REDACTED]' });
  assert.deepEqual(line.headers, { authorization: '[REDACTED]', cookie: '[REDACTED]', accept: 'json' });
  assert.deepEqual(line.client, { api_key: '[REDACTED]', secret: '[REDACTED]' });
});

test('when a credential sits deep in a logged object, in an array or at the root, then it is redacted and the caller keeps its own object', () => {
  const { capture, log } = capturedLogger();
  const logged = {
    password: 'root-pass',
    request: { config: { headers: { authorization: 'Bearer deep', 'x-api-key': 'k3y', accept: 'json' } } },
    users: [{ name: 'a', token: 't0k' }, { name: 'b' }],
  };
  log.info(logged, 'nested');
  const line = capture.lines[0] ?? {};
  assert.equal(line.password, '[REDACTED]');
  assert.deepEqual(line.request, {
    config: { headers: { authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', accept: 'json' } },
  });
  assert.deepEqual(line.users, [{ name: 'a', token: '[REDACTED]' }, { name: 'b' }]);
  // The application's own objects are left as they were.
  assert.equal(logged.password, 'root-pass');
  assert.equal(logged.request.config.headers.authorization, 'Bearer deep');
  assert.equal(logged.users[0]?.token, 't0k');
});

test("when an error carries a credential in its own fields, then the line has the error's message and stack with the credential redacted", () => {
  const { capture, log } = capturedLogger();
  const err = Object.assign(new Error('upstream refused'), {
    config: { headers: { authorization: 'Bearer in-error' } },
  });
  log.error(err, 'call failed');
  log.warn({ details: { cause: err } }, 'wrapped');
  const [first, second] = capture.lines;
  const logged = first?.err as { message: string; stack: string; config: unknown };
  assert.equal(logged.message, 'upstream refused');
  assert.match(logged.stack, /^Error: upstream refused\n\s+at /);
  assert.deepEqual(logged.config, { headers: { authorization: '[REDACTED]' } });
  assert.deepEqual(second?.details, { cause: { config: { headers: { authorization: '[REDACTED]' } } } });
  assert.ok(!capture.raw.join('\n').includes('in-error'));
  assert.equal(err.config.headers.authorization, 'Bearer in-error');
});

test("when a child logger is bound to a credential or a serialiser returns one, then the child's lines have it redacted", () => {
  const { capture, log } = capturedLogger();
  const child = log.child(
    { component: 'client', auth: { secret: 'bound-secret' } },
    { serializers: { upstream: (u: { key: string }) => ({ host: 'api.example.com', apiKey: u.key }) } },
  );
  child.info({ upstream: { key: 'serialised-key' } }, 'calling');
  child.child({ attempt: 2, cookie: 'sid=grandchild' }).info('retrying');
  const [first, second] = capture.lines;
  assert.deepEqual(first?.auth, { secret: '[REDACTED]' });
  assert.deepEqual(first?.upstream, { host: 'api.example.com', apiKey: '[REDACTED]' });
  assert.equal(first?.component, 'client');
  assert.equal(second?.cookie, '[REDACTED]');
  assert.equal(second?.attempt, 2);
  assert.deepEqual(second?.auth, { secret: '[REDACTED]' });
  const raw = capture.raw.join('\n');
  for (const secret of ['bound-secret', 'serialised-key', 'grandchild'])
    assert.ok(!raw.includes(secret), secret);
});

test('when a logged object refers to itself, then the line is still written', () => {
  const { capture, log } = capturedLogger();
  const loop: Record<string, unknown> = { name: 'loop', token: 't' };
  loop.self = loop;
  log.info({ loop }, 'cyclic');
  const line = capture.lines[0] ?? {};
  assert.equal((line.loop as Record<string, unknown>).token, '[REDACTED]');
  assert.equal((line.loop as Record<string, unknown>).name, 'loop');
});

test('when a logged object holds no credential, then redaction hands back the same object; with one, a copy only along the path to it', () => {
  const clean = { req: { method: 'GET', url: '/api/v1/items' }, res: { statusCode: 200 }, tags: ['a', 'b'] };
  assert.equal(redactSecrets(clean), clean);
  const withSecret = { req: { method: 'GET' }, auth: { token: 't' }, tags: ['a'] };
  const redacted = redactSecrets(withSecret);
  assert.notEqual(redacted, withSecret);
  assert.notEqual(redacted.auth, withSecret.auth);
  // Branches without a credential are shared, not copied.
  assert.equal(redacted.req, withSecret.req);
  assert.equal(redacted.tags, withSecret.tags);
});
