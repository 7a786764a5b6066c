// Write routes accept JSON only, within a size limit; everything else is refused before any handler runs.
import express, { type RequestHandler } from 'express';
import { problems } from './errors.ts';
import type { SecurityEvents } from './security-events.ts';

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
  const parse = express.json({ limit: opts.limitBytes, strict: true, type: 'application/json' });
  return [requireJson, parse];
}

function hasBody(req: Parameters<RequestHandler>[0]): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}
