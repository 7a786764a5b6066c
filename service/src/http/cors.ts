// CORS from an exact-origin allowlist (CORS_ORIGINS); anything else gets no CORS headers and is counted
// as a security event. Never with credentials (tokens are bearer headers, not cookies). Why not the
// `cors` package: docs/decisions.md, "CORS by hand".
import type { RequestHandler } from 'express';
import type { SecurityEvents } from '../observability/security-events.ts';

export interface CorsOptions {
  readonly origins: readonly string[];
  readonly securityEvents: SecurityEvents;
}

const ALLOW_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type';
const MAX_AGE_SECONDS = '600';

export function corsMode(origins: readonly string[]): 'off' | 'any' | 'allowlist' {
  if (origins.length === 0) return 'off';
  return origins.includes('*') ? 'any' : 'allowlist';
}

export function cors(opts: CorsOptions): RequestHandler {
  // Normalised through URL so "https://App.example.com:443" in config matches the browser's form.
  const allowed = new Set(opts.origins.filter((o) => o !== '*').map((o) => new URL(o).origin));
  const any = opts.origins.includes('*');

  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      next();
      return;
    }
    // The answer depends on Origin, so every cache must key on it.
    res.vary('Origin');
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (any) {
      res.setHeader('Access-Control-Allow-Origin', '*');
    } else if (allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
    } else {
      opts.securityEvents.record('cors_rejected', { origin, method: req.method, preflight });
      if (preflight) {
        res.status(204).end();
        return;
      }
      next();
      return;
    }
    if (preflight) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', MAX_AGE_SECONDS);
      res.status(204).end();
      return;
    }
    res.setHeader('Access-Control-Expose-Headers', 'RateLimit, RateLimit-Policy, Retry-After, Location');
    next();
  };
}
