// The pino root logger: JSON lines, service identity on every line, secrets redacted.
import { type Logger, pino } from 'pino';

export type { Logger };

// Anything that may hold a credential, wherever it sits in a logged object.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
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

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: opts.serviceName, environment: opts.environment },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination,
  );
}
