// Response security headers for a JSON API (helmet), set first so every response carries them,
// 404/413/429/500 and health included. @see https://helmetjs.github.io/
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export interface SecurityHeadersOptions {
  /** HSTS only makes sense behind TLS, i.e. in production; on http://localhost it would pin the browser. */
  readonly hsts: boolean;
}

// What the responses promise, also reported by /api/health/security.
export const SECURITY_HEADER_POSTURE = {
  contentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'",
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  crossOriginOpenerPolicy: 'same-origin',
  crossOriginResourcePolicy: 'same-origin',
  cacheControl: 'no-store',
} as const;

export function securityHeaders(opts: SecurityHeadersOptions): RequestHandler {
  const h = helmet({
    // An API serves no documents: nothing may load, nothing may frame it.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
    strictTransportSecurity: opts.hsts ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Headers for browsers rendering documents (Flash policies, IE downloads, DNS prefetch, the
    // legacy XSS auditor, origin-keyed agent clusters) do nothing for JSON; every response would
    // carry ~170 bytes of them on the hot path.
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
  return (req, res, next) => {
    // Responses carry per-client data (items, rate-limit state): no cache may keep them.
    res.setHeader('Cache-Control', 'no-store');
    h(req, res, next);
  };
}
