// Write routes accept JSON only, within a size limit; everything else is refused before any handler runs.
import express, { type RequestHandler } from 'express';
import { problems } from '../errors/errors.ts';
import { TEXT_INVALID_TYPE } from '../errors/handler.ts';
import type { SecurityEvents } from '../observability/security-events.ts';

export function jsonBody(opts: { limitBytes: number; securityEvents: SecurityEvents }): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (req.is('application/json') === false || (req.is('application/json') === null && hasBody(req))) {
      opts.securityEvents.record('unsupported_media_type', {
        contentType: req.headers['content-type'] ?? '',
      });
      next(problems.unsupportedMediaType('application/json'));
      return;
    }
    next();
  };
  // body-parser counts the inflated size against `limit`, so a small gzip bomb still gets 413.
  // `verify` sees the (inflated) bytes before body-parser decodes them: body-parser's decoder
  // would turn invalid UTF-8 into U+FFFD, storing something other than what the client sent.
  const parse = express.json({
    limit: opts.limitBytes,
    strict: true,
    type: 'application/json',
    verify: (_req, _res, buf, charset) => verifyUtf8(buf, charset),
  });
  return [requireJson, parse];
}

function hasBody(req: Parameters<RequestHandler>[0]): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

// JSON is UTF-8 (RFC 8259 section 8.1); body-parser would also decode UTF-16 and UTF-32, whose
// decoders replace bad input silently too, so those are refused as unsupported charsets.
const UTF8 = new Set(['utf-8', 'utf8']);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function verifyUtf8(buf: Buffer, charset: string | null | undefined): void {
  if (charset && !UTF8.has(charset.toLowerCase()))
    throw Object.assign(new Error(`unsupported charset "${charset}"`), {
      status: 415,
      type: 'charset.unsupported',
      charset,
    });
  try {
    strictUtf8.decode(buf);
  } catch {
    throw Object.assign(new Error('body is not valid UTF-8'), { status: 400, type: TEXT_INVALID_TYPE });
  }
}
