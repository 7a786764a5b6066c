// The middleware every request passes, mounted as one Express layer instead of one layer each: per
// layer, Express's router and the OTel Express instrumentation do work for every request (a Router or
// `app.use(a, b, c)` still gives each handler its own layer). `compose-middleware` 5.0.1 predates
// Express 5: it drops a rejected promise of any handler but the first, and `next('route')` skips the
// rest. docs/performance.md ("What was changed to get there") has the measurement.
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
