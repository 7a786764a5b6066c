// The server span of every request, `METHOD route`: active for everything the app does for it, ended
// when the response closes; probes make none. Why not instrumentation-http's incoming side:
// docs/decisions.md, "Server spans written here, not by instrumentation-http".
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { Request } from 'express';
import { PACKAGE_VERSION } from '../package-info.ts';
import { isProbeRequest, redactQuery } from '../telemetry/http-filters.ts';
import { methodLabel, OTHER_METHOD, routeTemplate, UNMATCHED_ROUTE } from './metrics/http-metrics.ts';

/** The instrumentation scope of server spans in exported traces. */
export const SERVER_SPAN_SCOPE = 'items-api/http-server';

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

/**
 * Runs every listener of `emitter` in `ctx`. Events of a request and its response are emitted from
 * the connection's callbacks (the HTTP parser, socket writes), which run in the context the
 * connection was accepted in, not the request's; one wrapped `emit` per object restores it.
 */
function emitIn(ctx: Context, emitter: IncomingMessage | ServerResponse): void {
  const emit = emitter.emit as Emit;
  emitter.emit = function emitInRequestContext(this: unknown, event: string | symbol, ...args: unknown[]) {
    return context.with(ctx, emit, this, event, ...args);
  } as typeof emitter.emit;
}

/** `host[:port]` of the Host header; the port defaults to the scheme's. */
function serverAddress(host: string | undefined, secure: boolean): [string, number] | undefined {
  if (!host) return undefined;
  const bracket = host.startsWith('[') ? host.indexOf(']') : -1;
  const colon = host.indexOf(':', bracket === -1 ? 0 : bracket);
  const name = colon === -1 ? host : host.slice(0, colon);
  const port = colon === -1 ? Number.NaN : Number(host.slice(colon + 1));
  return [name, Number.isInteger(port) && port > 0 && port < 65536 ? port : secure ? 443 : 80];
}

// A method the semantic conventions do not name is `_OTHER` (the metrics' label), with the method as
// sent in http.request.method_original, and the span is named `HTTP`.
function startAttributes(req: IncomingMessage, method: string, label: string, secure: boolean) {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const attributes: Record<string, string | number> = {
    [ATTR_HTTP_REQUEST_METHOD]: label,
    [ATTR_URL_SCHEME]: secure ? 'https' : 'http',
    [ATTR_URL_PATH]: q === -1 ? url : url.slice(0, q),
    [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
  };
  if (label === OTHER_METHOD) attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = method;
  if (q !== -1) attributes[ATTR_URL_QUERY] = redactQuery(url.slice(q + 1));
  const server = serverAddress(req.headers.host, secure);
  if (server) {
    attributes[ATTR_SERVER_ADDRESS] = server[0];
    attributes[ATTR_SERVER_PORT] = server[1];
  }
  const agent = req.headers['user-agent'];
  if (agent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = agent;
  const { remoteAddress, remotePort } = req.socket;
  if (remoteAddress !== undefined) attributes[ATTR_NETWORK_PEER_ADDRESS] = remoteAddress;
  if (remotePort !== undefined) attributes[ATTR_NETWORK_PEER_PORT] = remotePort;
  return attributes;
}

function end(span: Span, req: IncomingMessage, res: ServerResponse, name: string): void {
  const status = res.statusCode;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  // Express's req.ip honours TRUST_PROXY (http/client-ip.ts); a request Express never saw has the peer.
  const ip = (req as Partial<Request>).ip ?? req.socket.remoteAddress;
  if (ip !== undefined) span.setAttribute(ATTR_CLIENT_ADDRESS, ip);
  // Express sets req.route on the request object itself; one it never routed is `unmatched`.
  const route = routeTemplate(req as Request);
  if (route === UNMATCHED_ROUTE) span.updateName(name);
  else {
    span.setAttribute(ATTR_HTTP_ROUTE, route);
    span.updateName(`${name} ${route}`);
  }
  if (status >= 500) {
    span.setAttribute(ATTR_ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  } else if (!res.writableFinished) {
    // The connection closed before the whole response was written (the client went away).
    span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
  }
  span.end();
}

/** `listener` with a server span around each request it handles. */
export function tracedRequests(listener: RequestListener): RequestListener {
  const tracer = trace.getTracer(SERVER_SPAN_SCOPE, PACKAGE_VERSION);
  return function tracedRequest(req, res) {
    if (isProbeRequest(req.url)) return listener(req, res);
    const method = req.method ?? 'GET';
    const label = methodLabel(method);
    const name = label === OTHER_METHOD ? 'HTTP' : label;
    const secure = (req.socket as Partial<TLSSocket>).encrypted === true;
    // The caller's trace (W3C traceparent), through the propagator the SDK registered.
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      name,
      { kind: SpanKind.SERVER, attributes: startAttributes(req, method, label, secure) },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    emitIn(ctx, req);
    emitIn(ctx, res);
    res.once('close', () => end(span, req, res, name));
    context.with(ctx, listener, undefined, req, res);
  };
}
