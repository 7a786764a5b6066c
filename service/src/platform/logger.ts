// The pino root logger: JSON lines, service identity on every line, secrets redacted. Inside a request
// the OTel pino instrumentation (instrumentation.ts) adds trace_id, span_id and trace_flags to each line.
import { type Logger, pino } from 'pino';

export type { Logger };

// Anything that may hold a credential, wherever it sits in a logged object. Each `*` path is checked
// on every line, so the list stays short: access lines never carry headers in the first place
// (access-log.ts serialises method and redacted URL only).
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.authorization',
  '*.cookie',
  '*.password',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.api_key',
];

export interface LoggerOptions {
  readonly level: string;
  readonly serviceName: string;
  readonly environment: string;
  readonly destination?: pino.DestinationStream;
}

// Human-readable output only for a person at a terminal; pipes and files get JSON lines. pino-pretty
// is loaded (in pino's transport worker) only in that case.
//
// JSON lines are written with one blocking write each (pino's documented standard mode), not through
// the asynchronous stdout stream pino() builds by default. That stream hands each write to libuv's
// thread pool: at a steady request rate, ~4 thread switches per request instead of ~1, and about
// 90 µs more server CPU per request for the access log (BENCHMARKS.md). And a line logged right
// before the process is killed is already out, not lost in a buffer. The price: a log reader that
// stops reading blocks the service instead of growing its memory without bound.
function destinationFor(opts: LoggerOptions): pino.DestinationStream {
  if (opts.destination) return opts.destination;
  if (process.stdout.isTTY) return pino.transport({ target: 'pino-pretty', options: { destination: 1 } });
  return pino.destination({ dest: 1, sync: true });
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: opts.serviceName, environment: opts.environment },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destinationFor(opts),
  );
}
