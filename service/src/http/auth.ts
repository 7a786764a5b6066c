// Bearer-token authentication for writes (API_TOKENS) and admin routes (ADMIN_TOKEN).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { problems } from '../errors/errors.ts';
import type { SecurityEvents } from '../observability/security-events.ts';

export type Role = 'api' | 'admin';

export interface AuthConfig {
  readonly apiTokens: readonly string[];
  readonly adminToken: string | undefined;
}

// Hashing first gives equal-length inputs, so timingSafeEqual leaks neither content nor length.
const digest = (s: string) => createHash('sha256').update(s).digest();

function matchesAny(candidate: Buffer, tokens: readonly Buffer[]): boolean {
  let found = false;
  // No early exit: every configured token is compared, whatever matched.
  for (const t of tokens) found = timingSafeEqual(candidate, t) || found;
  return found;
}

export function createAuth(config: AuthConfig, securityEvents: SecurityEvents) {
  const apiDigests = config.apiTokens.map(digest);
  const adminDigests = config.adminToken === undefined ? [] : [digest(config.adminToken)];

  function roleOf(header: string | undefined): Role | 'none' | 'invalid' {
    if (header === undefined || header === '') return 'none';
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match?.[1]) return 'invalid';
    const candidate = digest(match[1]);
    if (matchesAny(candidate, adminDigests)) return 'admin';
    if (matchesAny(candidate, apiDigests)) return 'api';
    return 'invalid';
  }

  return function require(role: Role): RequestHandler {
    return (req, _res, next) => {
      const found = roleOf(req.headers.authorization);
      if (found === 'none' || found === 'invalid') {
        const reason = found === 'none' ? 'missing_token' : 'invalid_token';
        securityEvents.record('unauthorized', { reason, role });
        next(
          problems.unauthorized(
            found === 'none' ? 'A bearer token is required.' : 'The bearer token is not valid.',
          ),
        );
        return;
      }
      // The admin token may do everything an API token may; an API token never reaches admin routes.
      if (role === 'admin' && found !== 'admin') {
        securityEvents.record('forbidden', { role });
        next(problems.forbidden('This route needs the admin token.'));
        return;
      }
      next();
    };
  };
}

export type RequireRole = ReturnType<typeof createAuth>;
