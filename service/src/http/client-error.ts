// Answers what Node's HTTP parser refuses before Express sees a request (the server's `clientError`,
// where Node would send a bare 400): a small problem+json with the security headers, a security event,
// then close. No ServerResponse exists there, so it is written onto the socket by hand, as Node does.
// @see https://nodejs.org/api/http.html#event-clienterror
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE } from '../errors/errors.ts';
import { type ProblemSlug, problemTitle, problemTypeUri } from '../errors/problem-types.ts';
import type { Logger } from '../observability/logger.ts';
import type { SecurityEvents } from '../observability/security-events.ts';
import { SECURITY_HEADER_POSTURE } from './security-headers.ts';

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  readonly event: 'invalid_input' | 'request_timeout';
}

type ProblemOnSocket = Omit<Answer, 'event'>;

/** A problem of a platform type, its URI and title from the catalogue. */
function problemOf(slug: ProblemSlug, status: number, detail: string): ProblemOnSocket {
  return { status, type: problemTypeUri(slug), title: problemTitle(slug, status), detail };
}

function answerFor(code: string): Answer {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        ...problemOf('headers-too-large', 431, 'The request head exceeds the size this server accepts.'),
        event: 'invalid_input',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        ...problemOf('request-timeout', 408, 'The request was not received in time.'),
        event: 'request_timeout',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        ...problemOf('malformed-request', 413, 'The chunk extensions of the body are too large.'),
        event: 'invalid_input',
      };
    default:
      return {
        ...problemOf('malformed-request', 400, 'The request is not valid HTTP/1.1.'),
        event: 'invalid_input',
      };
  }
}

// The same values securityHeaders() (helmet) sets on every Express response; a test compares them.
function securityHeaderLines(hsts: boolean): string {
  const p = SECURITY_HEADER_POSTURE;
  const lines = [
    `Content-Security-Policy: ${p.contentSecurityPolicy.replaceAll('; ', ';')}`,
    `Cross-Origin-Opener-Policy: ${p.crossOriginOpenerPolicy}`,
    `Cross-Origin-Resource-Policy: ${p.crossOriginResourcePolicy}`,
    `Referrer-Policy: ${p.referrerPolicy}`,
    ...(hsts ? ['Strict-Transport-Security: max-age=31536000; includeSubDomains'] : []),
    'X-Content-Type-Options: nosniff',
    `X-Frame-Options: ${p.xFrameOptions}`,
    `Cache-Control: ${p.cacheControl}`,
  ];
  return lines.map((l) => `${l}\r\n`).join('');
}

export interface ClientErrorDeps {
  readonly securityEvents: SecurityEvents;
  readonly logger: Logger;
  readonly hsts: boolean;
}

// After our answer, how long a client that keeps its side open may take before the socket is cut.
const CLOSE_GRACE_MS = 1_000;

/** Writes a problem+json answer straight onto a socket no ServerResponse owns, then closes it. */
function answerOnSocket(socket: Duplex, answer: ProblemOnSocket, id: string, headers: string): void {
  const body = JSON.stringify({
    type: answer.type,
    title: answer.title,
    status: answer.status,
    detail: answer.detail,
    instance: `urn:uuid:${id}`,
  });
  socket.end(
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${id}\r\n` +
      headers +
      'Connection: close\r\n\r\n' +
      body,
  );
  // end() lets the answer drain before FIN; a peer that never closes its side is cut off.
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

export function clientErrorHandler(deps: ClientErrorDeps): (err: Error, socket: Duplex) => void {
  const headers = securityHeaderLines(deps.hsts);
  const log = deps.logger.child({ component: 'http' });
  return (err, socket) => {
    const code = String((err as { code?: unknown }).code ?? 'unknown');
    // A peer that reset the connection is gone: nothing to answer, nothing malicious.
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      log.debug({ code }, 'client connection reset');
      socket.destroy();
      return;
    }
    const answer = answerFor(code);
    const id = randomUUID();
    deps.securityEvents.record(answer.event, { reason: code, status: answer.status, request_id: id });
    // Writing into a response that has started would corrupt it for the peer (Node checks the same).
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    answerOnSocket(socket, answer, id, headers);
  };
}

/**
 * CONNECT asks for a tunnel, which this API never opens. Node hands such requests to the server's
 * `connect` event and, with no listener, drops the connection without a word.
 */
export function connectHandler(deps: ClientErrorDeps): (req: IncomingMessage, socket: Duplex) => void {
  const headers = securityHeaderLines(deps.hsts);
  return (_req, socket) => {
    const id = randomUUID();
    deps.securityEvents.record('invalid_input', { reason: 'connect_method', status: 405, request_id: id });
    const problem = problemOf('method-not-allowed', 405, 'This server opens no tunnels (CONNECT).');
    answerOnSocket(socket, problem, id, headers);
  };
}
