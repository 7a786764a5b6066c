// The problem handler's one mapping for errors libraries raise: client mistakes keep their 4xx status
// and get a specific type and a security event; only other errors become 500 (and reach Sentry).
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import express from 'express';
import { z } from 'zod';
import { problemHandler } from '../../src/errors/handler.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { SecurityEventDetails } from '../../src/observability/security-events.ts';
import { LogCapture } from '../helpers.ts';

// Shaped as the libraries raise them (http-errors sets status/statusCode/expose and body-parser a type).
const httpError = (status: number, props: Record<string, unknown> = {}) =>
  Object.assign(new Error(`library error ${status}`), {
    status,
    statusCode: status,
    expose: status < 500,
    ...props,
  });

const THROWN: Record<string, () => unknown> = {
  '/uri': () => Object.assign(new URIError('URI malformed'), { status: 400, statusCode: 400 }),
  '/parse': () => httpError(400, { type: 'entity.parse.failed' }),
  '/too-large': () => httpError(413, { type: 'entity.too.large', limit: 10 }),
  '/encoding': () => httpError(415, { type: 'encoding.unsupported', encoding: 'x' }),
  '/charset': () => httpError(415, { type: 'charset.unsupported', charset: 'latin1' }),
  '/gzip': () => httpError(400, { code: 'Z_DATA_ERROR', errno: -3 }),
  '/brotli': () => httpError(400, { code: 'ERR__ERROR_FORMAT_PADDING_1', errno: -14 }),
  '/zstd': () => httpError(400, { code: 'ZSTD_error_prefix_unknown', errno: 10 }),
  '/length': () => httpError(400, { type: 'request.size.invalid' }),
  '/aborted': () => httpError(400, { type: 'request.aborted' }),
  '/teapot': () => httpError(418),
  '/zod': () => z.strictObject({ a: z.string() }).safeParse({ a: 1 }).error,
  '/library-503': () => httpError(503),
  '/plain': () => new Error('ours'),
};

async function start() {
  const events: [string, SecurityEventDetails | undefined][] = [];
  const unexpected: unknown[] = [];
  const logs = new LogCapture();
  const app = express();
  for (const [path, make] of Object.entries(THROWN))
    app.get(path, () => {
      throw make();
    });
  app.use(
    problemHandler({
      logger: createLogger({
        level: 'info',
        serviceName: 't',
        environment: 'test',
        destination: logs.stream,
      }),
      securityEvents: { record: (type, details) => events.push([type, details]) },
      exposeInternalErrors: false,
      onUnexpectedError: (err) => unexpected.push(err),
    }),
  );
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const get = async (path: string) => {
    const res = await fetch(url + path);
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown>,
      type: res.headers.get('content-type'),
    };
  };
  return { get, events, unexpected, logs, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('when a library raises an error for a client mistake, then its status and a specific problem type, a security event, no error log and nothing for Sentry', async (t) => {
  const svc = await start();
  t.after(svc.close);
  const expected: [string, number, string, string | undefined][] = [
    ['/uri', 400, '/problems/bad-path-encoding', 'invalid_input'],
    ['/parse', 400, '/problems/malformed-body', 'malformed_body'],
    ['/too-large', 413, '/problems/body-too-large', 'body_too_large'],
    ['/encoding', 415, '/problems/unsupported-encoding', 'unsupported_media_type'],
    ['/charset', 415, '/problems/unsupported-media-type', 'unsupported_media_type'],
    ['/gzip', 400, '/problems/malformed-body', 'malformed_body'],
    ['/brotli', 400, '/problems/malformed-body', 'malformed_body'],
    ['/zstd', 400, '/problems/malformed-body', 'malformed_body'],
    ['/length', 400, '/problems/malformed-body', 'malformed_body'],
    // The client has gone: answered for the record, but it is no attack.
    ['/aborted', 400, '/problems/malformed-body', undefined],
    ['/teapot', 418, '/problems/client-error', 'invalid_input'],
    ['/zod', 400, '/problems/validation-error', 'validation_failed'],
  ];
  for (const [path, status, type, event] of expected) {
    const before = svc.events.length;
    const res = await svc.get(path);
    assert.equal(res.status, status, path);
    assert.equal(res.body.type, type, path);
    assert.match(res.type ?? '', /^application\/problem\+json/);
    assert.deepEqual(
      svc.events.slice(before).map(([e]) => e),
      event === undefined ? [] : [event],
      path,
    );
  }
  assert.deepEqual(svc.unexpected, [], 'nothing reported as unexpected (Sentry)');
  assert.equal(svc.logs.lines.filter((l) => l.level === 'error').length, 0, 'no error log line');
});

test('when the error is not a client mistake (a plain Error, a library 5xx), then 500, an error log line and a report', async (t) => {
  const svc = await start();
  t.after(svc.close);
  for (const path of ['/plain', '/library-503']) {
    const res = await svc.get(path);
    assert.equal(res.status, 500, path);
    assert.equal(res.body.detail, 'An unexpected error occurred.');
  }
  assert.equal(svc.unexpected.length, 2);
  assert.equal(svc.logs.lines.filter((l) => l.msg === 'unexpected error').length, 2);
});
