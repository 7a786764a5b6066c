// The middleware every request passes, mounted as one Express layer instead of one layer each.
//
// Written here. Express's own ways of grouping handlers, a Router or `app.use(a, b, c)`, give every
// handler its own layer, and per layer the router matches the path and allocates its `next`
// bookkeeping, and the OTel Express instrumentation (kept for `http.route`) wraps each layer's handle
// to push and pop the layer path, rebuild the route and bind the callback to the active context, for
// every request, even though these layers' spans are off.
// `compose-middleware` (5.0.1), the package that does this, predates Express 5: a promise rejected by
// any handler but the first is never forwarded (an async middleware's error would go unhandled),
// and `next('route')` skips the rest of the series. docs/performance.md ("What was changed to get
// there") has the measurement.
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs `handlers` as Express 5 runs app-level middleware: each gets the next one as `next`;
 * `next(err)` (or a thrown error, or a rejected promise) skips the rest and hands the error to the
 * app's error handlers; `next('route')` goes on with the next handler; `next('router')` leaves the
 * app's router, as it would from any app-level layer.
 */
export function middlewareSeries(handlers: readonly RequestHandler[]): RequestHandler {
  // An error handler (four parameters) would be called as a plain one here: a wiring mistake.
  for (const h of handlers)
    if (h.length >= 4) throw new TypeError(`error-handling middleware cannot run in a series: ${h.name}`);
  const run = (req: Request, res: Response, done: NextFunction): void => {
    let i = 0;
    const next: NextFunction = (err?: unknown) => {
      if (err && err !== 'route') {
        done(err);
        return;
      }
      const handler = handlers[i++];
      if (handler === undefined) {
        done();
        return;
      }
      try {
        const ret: unknown = handler(req, res, next);
        if (ret instanceof Promise) ret.catch((e: unknown) => done(e ?? new Error('Rejected promise')));
      } catch (e) {
        done(e);
      }
    };
    next();
  };
  return run;
}
