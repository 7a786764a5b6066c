// The middleware every request passes, as one Express layer: the router does work per layer per
// request. Written here: `compose-middleware` 5.0.1 predates Express 5 (it drops rejected promises).
// Measurement: docs/performance.md, "What was changed to get there".
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs `handlers` as Express 5 runs app-level middleware: `next(err)`, a throw or a rejected promise
 * skips the rest to the error handlers; `next('route')` goes on; `next('router')` leaves the router.
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
