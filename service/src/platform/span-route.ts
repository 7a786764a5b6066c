// The server span's route from the app's own routing: `http.route` and the name `METHOD route` for
// every request a route handled, its errors and 404s included, from the same route template the
// metrics and the access log use. A request no route handled keeps the span as the HTTP
// instrumentation names it (`GET`, no http.route), as the semantic conventions ask.
//
// The HTTP instrumentation reads the route from the request's RPC metadata when the span ends (the
// hand-over @opentelemetry/instrumentation-express uses). The route is known only after routing, and
// the span ends before any 'close' listener the app could add, so the metadata gets a getter: the
// template is looked up once, when the span ends. Written here instead of keeping the Express
// instrumentation, which wraps every layer of every request to work out the same template.
import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { RequestHandler } from 'express';
import { routeTemplate, UNMATCHED_ROUTE } from './http-metrics.ts';

export function serverSpanRoute(): RequestHandler {
  return (req, _res, next) => {
    const meta = getRPCMetadata(context.active());
    if (meta?.type === RPCType.HTTP)
      Object.defineProperty(meta, 'route', {
        get: () => {
          const route = routeTemplate(req);
          return route === UNMATCHED_ROUTE ? undefined : route;
        },
        enumerable: true,
        configurable: true,
      });
    next();
  };
}
