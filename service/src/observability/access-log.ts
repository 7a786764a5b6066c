// One access log line per request (pino-http): method, path, route template, status, duration, request id.
// req.log (for handlers) is a child logger bound to the serialised request; lines carry trace ids.
// Request data is serialised by hand into a nested `req` object: no headers, redacted query.
// @see https://github.com/pinojs/pino-http#pinohttpopts-stream
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { type Options, pinoHttp } from 'pino-http';
import { isProbeRequest, redactUrl } from '../telemetry/http-filters.ts';
import type { Logger } from './logger.ts';
import { routeTemplate } from './metrics/http-metrics.ts';

export function accessLog(logger: Logger): RequestHandler {
  // pino-http hands over an object it built for this line alone, so it is completed in place
  // rather than copied on every request.
  const accessFields = (req: IncomingMessage, val: Record<string, unknown>) => {
    val.request_id = req.id;
    val.route = routeTemplate(req as Request);
    return val;
  };
  const options: Options<IncomingMessage, ServerResponse> = {
    logger,
    // http/request-id.ts has set req.id already; pino-http only falls back to this.
    genReqId: (req) => req.id,
    customAttributeKeys: { responseTime: 'duration_ms' },
    // Scrapes and liveness probes would drown the real traffic.
    autoLogging: { ignore: (req) => isProbeRequest(req.url) },
    // No quietReqLogger: it makes every request's logger a prototype, whose hidden classes stay in
    // V8's old generation (docs/decisions.md, "Access log: no quietReqLogger"). The request id goes
    // into the access line itself (accessFields) instead.
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
    customSuccessObject: (req, _res, val: Record<string, unknown>) => accessFields(req, val),
    // The problem handler has logged the real error with its stack; the access line stays one line.
    customErrorObject: (req, _res, _err, val: Record<string, unknown>) => {
      const { err: _ignored, ...rest } = val;
      return accessFields(req, rest);
    },
  };
  return pinoHttp(options) as unknown as RequestHandler;
}
