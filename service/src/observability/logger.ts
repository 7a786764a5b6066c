// The pino root logger: JSON lines, service identity on every line, secrets redacted. Inside a request
// the OTel pino instrumentation (instrumentation.ts) adds trace_id, span_id and trace_flags to each line.
// With log export on, every line also goes to pino's worker thread, which makes it an OTLP log record.
import { type Logger, pino } from 'pino';
import type { LogRecordSink } from './telemetry-handle.ts';

export type { Logger };

// Field names whose values are credentials, censored wherever they sit in a logged object: the log
// object, a child logger's bindings, and what a serialiser returns (matched exactly, at any depth).
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'password',
  'passwd',
  'token',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'id_token',
  'secret',
  'client_secret',
  'clientSecret',
  'apiKey',
  'api_key',
  'apikey',
]);
const CENSOR = '[REDACTED]';
// Deep enough for any object the service logs; a cycle stops here and pino's safe stringify prints it.
const MAX_DEPTH = 8;

// Only what JSON.stringify walks into the line: plain objects, arrays, and errors (their own fields,
// e.g. an HTTP client error's request config with its headers). Anything else (sockets, requests)
// reaches the line only through a serialiser, whose result is redacted in turn.
function walkable(v: unknown): v is object {
  if (v === null || typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null || Array.isArray(v) || v instanceof Error;
}

// A copy with the same prototype and fields. An error keeps its non-enumerable message and cause,
// which serialisers read; its stack is an accessor V8 answers only on the original, so it is copied
// as a value.
function copyOf(source: object): Record<string, unknown> {
  const copy = Object.create(Object.getPrototypeOf(source), Object.getOwnPropertyDescriptors(source));
  if (source instanceof Error)
    Object.defineProperty(copy, 'stack', { value: source.stack, writable: true, configurable: true });
  return copy as Record<string, unknown>;
}

/**
 * `value` with every SECRET_KEYS field censored: the same object when nothing matched (no
 * allocation), otherwise a copy along the path to each match. The caller's objects are never changed.
 *
 * Written here rather than with pino's `redact` option: pino 10's redactor (@pinojs/redact 0.4) parses
 * every path string again on every call, and a `*.key` path makes pino run it on every field of every
 * line, strings and numbers included. In the full template at 1,200 req/s that was 24 KB of garbage
 * per request, a fifth of all a request allocated (V8's sampling heap profiler, freed objects
 * included), and 6 % of its server CPU (interleaved A/B at saturation). This walk allocates nothing
 * for a line without secrets, and censors a secret at any depth, not only one level below the root.
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth >= MAX_DEPTH || !walkable(value)) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const redacted = redactSecrets(item, depth + 1);
      if (redacted !== item) {
        copy ??= value.slice();
        copy[i] = redacted;
      }
    }
    return (copy ?? value) as T;
  }
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in source) {
    if (!Object.hasOwn(source, key)) continue;
    const field = source[key];
    const redacted = SECRET_KEYS.has(key) && field !== undefined ? CENSOR : redactSecrets(field, depth + 1);
    if (redacted === field) continue;
    copy ??= copyOf(source);
    Object.defineProperty(copy, key, {
      value: redacted,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return (copy ?? value) as T;
}

type Serializers = Record<string, pino.SerializerFn>;
const redactingSerializers = (serializers: Serializers): Serializers =>
  Object.fromEntries(
    Object.entries(serializers).map(([key, serialize]) => [key, (v: unknown) => redactSecrets(serialize(v))]),
  );

export interface LoggerOptions {
  readonly level: string;
  readonly serviceName: string;
  readonly environment: string;
  readonly destination?: pino.DestinationStream;
  /** The telemetry handle's log record sink (export on): each line is also written there. */
  readonly logRecords?: ((transport: typeof pino.transport) => LogRecordSink) | undefined;
}

// Human-readable output only for a person at a terminal; pipes and files get JSON lines. pino-pretty
// is loaded (in pino's transport worker) only in that case.
//
// JSON lines are written with one blocking write each (pino's documented standard mode), not through
// the asynchronous stdout stream pino() builds by default. That stream hands each write to libuv's
// thread pool: at a steady request rate, ~4 thread switches per request instead of ~1, and about
// 90 µs more server CPU per request for the access log (docs/performance.md). And a line logged right
// before the process is killed is already out, not lost in a buffer. The price: a log reader that
// stops reading blocks the service instead of growing its memory without bound.
//
// OTLP log records are made from the same lines in pino's worker thread (telemetry/sdk.ts): the request
// thread only copies each line into the worker's buffer. Both streams take every level the logger lets
// through.
function destinationFor(opts: LoggerOptions): pino.DestinationStream | pino.MultiStreamRes {
  if (opts.destination) return opts.destination;
  const out: pino.DestinationStream = process.stdout.isTTY
    ? pino.transport({ target: 'pino-pretty', options: { destination: 1 } })
    : pino.destination({ dest: 1, sync: true });
  const records = opts.logRecords?.(pino.transport);
  if (records === undefined) return out;
  return pino.multistream([
    { level: 'trace', stream: out },
    { level: 'trace', stream: records },
  ]);
}

export function createLogger(opts: LoggerOptions): Logger {
  const logger = pino(
    {
      level: opts.level,
      base: { service: opts.serviceName, environment: opts.environment },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The log object before serialisers run; serialisers' results are redacted by their wrappers.
      formatters: { level: (label) => ({ level: label }), log: (obj) => redactSecrets(obj) },
      serializers: redactingSerializers({ err: pino.stdSerializers.err }),
    },
    destinationFor(opts),
  );
  // pino formats a child's bindings once, when the child is made, with no hook of its own (the
  // bindings formatter applies to the root's only). Every child is created through this method of
  // the root (children inherit it by prototype), so bindings and any serialisers a child adds (as
  // pino-http does) are redacted like the root's.
  type Child = (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  const pinoChild = (Object.getPrototypeOf(logger) as Logger).child as unknown as Child;
  const redactingChild: Child = function (this, bindings, options) {
    const childOptions =
      options?.serializers === undefined
        ? options
        : {
            ...options,
            serializers: redactingSerializers(options.serializers),
          };
    return pinoChild.call(this, redactSecrets(bindings), childOptions);
  };
  logger.child = redactingChild as unknown as Logger['child'];
  return logger;
}
