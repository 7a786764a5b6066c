// The middleware series keeps Express 5's semantics for each handler it runs as one layer.
import { strict as assert } from 'node:assert';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { middlewareSeries } from '../../src/http/middleware-series.ts';

/** Serves `handlers` as one series, then a route that reports which handlers ran, then an error handler. */
async function serve(t: TestContext, handlers: RequestHandler[]) {
  const app = express();
  app.use(middlewareSeries(handlers));
  app.get('/probe', (req, res) => {
    res.json({ ran: req.headers['x-ran'] ?? '' });
  });
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    res
      .status(500)
      .json({ error: err instanceof Error ? err.message : String(err), ran: req.headers['x-ran'] });
  };
  app.use(onError);
  const server = app.listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/probe`;
  return async () => {
    const res = await fetch(url);
    const json = res.headers.get('content-type')?.startsWith('application/json') === true;
    return { status: res.status, body: (json ? await res.json() : await res.text()) as unknown };
  };
}

// Each handler records itself in a request header, so the response shows what ran and in what order.
const mark =
  (name: string, then: (next: (err?: unknown) => void) => unknown = (next) => next()): RequestHandler =>
  (req, _res, next) => {
    req.headers['x-ran'] = `${req.headers['x-ran'] ?? ''}${name}`;
    return then(next);
  };

describe('middleware series', () => {
  test('when every handler calls next, then all run in order and the route answers', async (t) => {
    const get = await serve(t, [mark('a'), mark('b'), mark('c')]);
    assert.deepEqual(await get(), { status: 200, body: { ran: 'abc' } });
  });

  test('when a handler calls next after an await, then the rest still run', async (t) => {
    const later = mark('b', async (next) => {
      await new Promise((resolve) => setImmediate(resolve));
      next();
    });
    const get = await serve(t, [mark('a'), later, mark('c')]);
    assert.deepEqual(await get(), { status: 200, body: { ran: 'abc' } });
  });

  test('when a handler passes, throws or rejects an error, then the rest are skipped and the error handler answers', async (t) => {
    const passes = mark('b', (next) => next(new Error('passed')));
    const throws = mark('b', () => {
      throw new Error('thrown');
    });
    const rejects = mark('b', async () => {
      throw new Error('rejected');
    });
    for (const [handler, message] of [
      [passes, 'passed'],
      [throws, 'thrown'],
      [rejects, 'rejected'],
    ] as const) {
      const get = await serve(t, [mark('a'), handler, mark('c')]);
      assert.deepEqual(await get(), { status: 500, body: { error: message, ran: 'ab' } }, message);
    }
  });

  test("when a handler calls next('route'), then the next handler runs, as for an app-level layer", async (t) => {
    const get = await serve(t, [mark('a', (next) => next('route')), mark('b')]);
    assert.deepEqual(await get(), { status: 200, body: { ran: 'ab' } });
  });

  test("when a handler calls next('router'), then the app's router is left (no route, no error handler)", async (t) => {
    const get = await serve(t, [mark('a', (next) => next('router')), mark('b')]);
    const res = await get();
    // Express's final handler: a 404 page, not the route's JSON nor the error handler's.
    assert.equal(res.status, 404);
    assert.equal(typeof res.body, 'string');
  });

  test('when the list is empty, then the request goes straight on', async (t) => {
    const get = await serve(t, []);
    assert.deepEqual(await get(), { status: 200, body: { ran: '' } });
  });

  test('when an error handler (four parameters) is given, then the series refuses it at start-up', () => {
    const onError: ErrorRequestHandler = (_err, _req, _res, next) => next();
    assert.throws(
      () => middlewareSeries([mark('a'), onError as unknown as RequestHandler]),
      /error-handling/,
    );
  });
});
