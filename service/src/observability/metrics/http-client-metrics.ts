// RED metrics of outgoing HTTP calls, http_client_request_duration_seconds, for fetch() (undici) and
// node:http alike: both clients publish their requests on Node's diagnostics channels, so this needs
// neither tracing nor patching. Labels are bounded (methods as the server metric, a capped host set).
// @see https://nodejs.org/api/diagnostics_channel.html#built-in-channels
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { createTraceState } from '@opentelemetry/api';
import type { ExemplarPolicy } from './exemplar-policy.ts';
import { methodLabel } from './http-metrics.ts';
import type { Metrics } from './metrics.ts';

/**
 * Distinct `server_address` values kept per process; calls to any later host are labelled `other`.
 * Hosts come from URLs the code builds, sometimes out of data (webhook targets, a host per tenant, pod
 * IPs behind a headless service): each new one would add a histogram per method and status (15 series
 * each) that Prometheus keeps for hours. A service has a handful of dependencies; 20 leaves room.
 */
export const MAX_SERVER_ADDRESSES = 20;
export const OTHER_SERVER_ADDRESS = 'other';
export const OTHER_ERROR_TYPE = '_OTHER';

/** What this module reads of undici's request object (the same object in every undici:request:* message). */
interface UndiciRequest {
  readonly origin: string | URL;
  readonly method: string;
  readonly headers: string | readonly (string | string[])[];
}

interface Call {
  readonly start: number;
  readonly method: string;
  readonly address: string;
}

// error.type of the semantic conventions: the error's code (ECONNREFUSED, ENOTFOUND,
// UND_ERR_CONNECT_TIMEOUT), else its class (TimeoutError, AbortError). Both are fixed in code, never
// data, so the label stays bounded; anything else is _OTHER.
const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export function errorType(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | null | undefined;
  if (typeof e?.code === 'string' && IDENTIFIER.test(e.code)) return e.code;
  if (typeof e?.name === 'string' && IDENTIFIER.test(e.name)) return e.name;
  return OTHER_ERROR_TYPE;
}

// The exemplar is the traceparent the instrumentation sent downstream: it names the client span
// (which undici's instrumentation never makes active, so it cannot be asked for), and it is absent
// when tracing is off or the call was not sampled. Only a trace in the gateway's share is linked: when
// the call ends, nothing else says yet that its trace will be kept (exemplar-policy.ts).
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
function exemplarOf(
  exemplars: Pick<ExemplarPolicy, 'inShare'>,
  traceparent: unknown,
  tracestate: unknown,
): Record<string, string> {
  const m = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent) : null;
  if (!m) return {};
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if ((Number.parseInt(flags, 16) & 1) !== 1) return {};
  const traceState = typeof tracestate === 'string' ? createTraceState(tracestate) : undefined;
  return exemplars.inShare({ traceId, traceState }) ? { trace_id: traceId, span_id: spanId } : {};
}

const HEADER_LINE = {
  traceparent: /(?:^|\r\n)traceparent:\s*([^\r\n]*)/i,
  tracestate: /(?:^|\r\n)tracestate:\s*([^\r\n]*)/i,
};
/** undici keeps request headers as `[name, value, ...]` (Node's bundled undici) or as `name: value\r\n` text. */
function undiciHeader(headers: UndiciRequest['headers'], name: keyof typeof HEADER_LINE): string | undefined {
  if (typeof headers === 'string') return HEADER_LINE[name].exec(headers)?.[1];
  for (let i = 0; i + 1 < headers.length; i += 2)
    if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
  return undefined;
}

const defaultPort = (protocol: string | undefined) => (protocol === 'https:' ? '443' : '80');
const bare = (host: string) => host.replace(/^\[|\]$/g, '');

/**
 * Measures every outgoing call from its start to its response head (or its error) into
 * `metrics.httpClientRequestDuration`; the telemetry's own endpoints (`isOwnTraffic`) are skipped.
 * Until the head, not the last byte: a body the caller never reads would otherwise never be measured.
 * Returns the function that stops measuring.
 */
export function observeHttpClients(
  metrics: Metrics,
  isOwnTraffic: (host: string, port: string) => boolean,
  exemplars: Pick<ExemplarPolicy, 'inShare'>,
): () => void {
  const calls = callRecorder(metrics.httpClientRequestDuration, isOwnTraffic, exemplars);
  const handlers = { ...undiciHandlers(calls), ...nodeHttpHandlers(calls) };
  for (const [channel, handler] of Object.entries(handlers)) subscribe(channel, handler);
  return () => {
    for (const [channel, handler] of Object.entries(handlers)) unsubscribe(channel, handler);
  };
}

/** Calls in flight, keyed by the client's request object, and their observation when they end. */
interface CallRecorder {
  begin(request: object, method: string, host: string, port: string): void;
  end(
    request: object,
    status: number | undefined,
    error: unknown,
    traceparent: unknown,
    tracestate: unknown,
  ): void;
}

type Handlers = Record<string, (message: unknown) => void>;

function callRecorder(
  duration: Metrics['httpClientRequestDuration'],
  isOwnTraffic: (host: string, port: string) => boolean,
  exemplars: Pick<ExemplarPolicy, 'inShare'>,
): CallRecorder {
  const calls = new WeakMap<object, Call>();
  const addressLabel = cappedAddresses();
  return {
    begin(request, method, host, port) {
      if (isOwnTraffic(host, port)) return;
      calls.set(request, {
        start: performance.now(),
        method: methodLabel(method),
        address: addressLabel(bare(host)),
      });
    },
    end(request, status, error, traceparent, tracestate) {
      const call = calls.get(request);
      if (!call) return;
      calls.delete(request);
      duration.observe({
        labels: {
          http_request_method: call.method,
          server_address: call.address,
          http_response_status_code: status === undefined ? '' : String(status),
          error_type: status === undefined ? errorType(error) : '',
        },
        value: (performance.now() - call.start) / 1000,
        // prom-client types exemplar labels as the metric's own label names; they are not.
        exemplarLabels: exemplarOf(exemplars, traceparent, tracestate) as Record<string, string>,
      });
    },
  };
}

/** The `server_address` label: the host, until MAX_SERVER_ADDRESSES hosts were seen, then `other`. */
function cappedAddresses(): (host: string) => string {
  const addresses = new Set<string>();
  return (host) => {
    if (addresses.has(host)) return host;
    if (addresses.size >= MAX_SERVER_ADDRESSES) return OTHER_SERVER_ADDRESS;
    addresses.add(host);
    return host;
  };
}

/** fetch() and any other undici client. */
function undiciHandlers(calls: CallRecorder): Handlers {
  const end = (request: UndiciRequest, status: number | undefined, error: unknown) =>
    calls.end(
      request,
      status,
      error,
      undiciHeader(request.headers, 'traceparent'),
      undiciHeader(request.headers, 'tracestate'),
    );
  return {
    'undici:request:create': (m) => {
      const { request } = m as { request: UndiciRequest };
      // A proxy tunnel's CONNECT is plumbing; the request sent through it is published on its own.
      if (request.method === 'CONNECT') return;
      const origin = new URL(String(request.origin));
      calls.begin(request, request.method, origin.hostname, origin.port || defaultPort(origin.protocol));
    },
    'undici:request:headers': (m) => {
      const { request, response } = m as { request: UndiciRequest; response: { statusCode: number } };
      end(request, response.statusCode, undefined);
    },
    'undici:request:error': (m) => {
      const { request, error } = m as { request: UndiciRequest; error: unknown };
      end(request, undefined, error);
    },
  };
}

function nodeHttpHandlers(calls: CallRecorder): Handlers {
  const end = (request: ClientRequest, status: number | undefined, error: unknown) =>
    calls.end(request, status, error, request.getHeader('traceparent'), request.getHeader('tracestate'));
  return {
    'http.client.request.start': (m) => {
      const { request } = m as { request: ClientRequest };
      // ClientRequest keeps no port: the Host header Node wrote has it, unless it is the default one.
      const port = /:(\d+)$/.exec(String(request.getHeader('host') ?? ''))?.[1];
      calls.begin(request, request.method, request.host, port ?? defaultPort(request.protocol));
    },
    'http.client.response.finish': (m) => {
      const { request, response } = m as { request: ClientRequest; response: IncomingMessage };
      end(request, response.statusCode, undefined);
    },
    'http.client.request.error': (m) => {
      const { request, error } = m as { request: ClientRequest; error: unknown };
      end(request, undefined, error);
    },
  };
}
