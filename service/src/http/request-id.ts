// X-Request-Id: keep a safe incoming id (a proxy's), else generate one; echo it, log it, put it on the span.
import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** Span attribute carrying the request id (see docs/contract.md). */
export const ATTR_REQUEST_ID = 'http.request.id';

// Short, printable, no spaces, quotes or control characters: safe in a header, a log line and a query.
const SAFE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    trace.getActiveSpan()?.setAttribute(ATTR_REQUEST_ID, id);
    next();
  };
}
