// HTTP/1.1 rules Node's server would otherwise enforce itself with bare, header-less answers: a
// missing Host (RFC 9112 section 3.2) and an Expect the server cannot meet (RFC 9110 section 10.1.1).
// server.ts turns Node's own checks off (requireHostHeader: false, a checkExpectation listener) so
// that these requests reach Express and are refused as problem+json with the security headers.
import type { RequestHandler } from 'express';
import { problems } from '../errors/errors.ts';
import type { SecurityEvents } from '../observability/security-events.ts';
import { hasUnparseableTarget } from './request-target.ts';

export function requestConformance(securityEvents: SecurityEvents): RequestHandler {
  return (req, _res, next) => {
    if (hasUnparseableTarget(req)) {
      securityEvents.record('invalid_input', { reason: 'bad_target' });
      next(problems.malformedRequest('The request target is not a valid URL path.'));
      return;
    }
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
      securityEvents.record('invalid_input', { reason: 'missing_host' });
      next(problems.malformedRequest('An HTTP/1.1 request must carry a Host header.'));
      return;
    }
    const expect = req.headers.expect;
    if (expect !== undefined && expect.toLowerCase() !== '100-continue') {
      next(problems.expectationFailed());
      return;
    }
    next();
  };
}
