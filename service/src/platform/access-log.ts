// One access log line per request (pino-http): method, path, route template, status, duration, request id.
// Request data is serialised by hand into a nested `req` object: no headers, redacted query.
// @see https://github.com/pinojs/pino-http#pinohttpopts-stream
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { type Options, pinoHttp } from 'pino-http';
import { isProbeRequest, redactUrl } from '../telemetry/http-filters.ts';
import { routeTemplate } from './http-metrics.ts';
import type { Logger } from './logger.ts';

export function accessLog(logger: Logger): RequestHandler {
  const withRoute = (req: unknown, val: Record<string, unknown>) => ({
    ...val,
    route: routeTemplate(req as Request),
  });
  const options: Options<IncomingMessage, ServerResponse> = {
    logger,
    // request-id.ts has set req.id already; pino-http only falls back to this.
    genReqId: (req) => req.id,
    customAttributeKeys: { reqId: 'request_id', responseTime: 'duration_ms' },
    // Scrapes and liveness probes would drown the real traffic.
    autoLogging: { ignore: (req) => isProbeRequest(req.url) },
    // req.log carries the request id only, not the whole request, on every line a handler writes.
    quietReqLogger: true,
    wrapSerializers: false,
    serializers: {
      // Only what an operator needs, never headers (tokens, cookies) nor the raw query string.
      req: (req: Request) => ({
        method: req.method,
        url: redactUrl(req.originalUrl ?? req.url),
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customSuccessObject: (req, _res, val: Record<string, unknown>) => withRoute(req, val),
    // The problem handler has logged the real error with its stack; the access line stays one line.
    customErrorObject: (req, _res, _err, val: Record<string, unknown>) => {
      const { err: _ignored, ...rest } = val;
      return withRoute(req, rest);
    },
  };
  return pinoHttp(options) as unknown as RequestHandler;
}
