// The root logger: identity on every line, credentials redacted wherever they sit.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createLogger } from '../../src/platform/logger.ts';
import { LogCapture } from '../helpers.ts';

test('when a logged object holds credentials, then they are redacted and service and environment are on the line', () => {
  const capture = new LogCapture();
  const log = createLogger({
    level: 'info',
    serviceName: 'svc',
    environment: 'test',
    destination: capture.stream,
  });
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
