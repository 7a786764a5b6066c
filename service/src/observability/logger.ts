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
 * `value` with every SECRET_KEYS field censored: the same object when nothing matched (no allocation),
 * otherwise a copy along the path to each match; the caller's objects are never changed. Why not
 * pino's `redact`: docs/decisions.md, "Log redaction: a walk of our own, not pino's redact".
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

// Pretty output (pino-pretty, in pino's transport worker) only for a person at a terminal; otherwise
// JSON lines, one blocking write each, and OTLP log records made from the same lines in a worker.
// Why blocking writes: docs/decisions.md, "Log lines: one blocking write each".
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
