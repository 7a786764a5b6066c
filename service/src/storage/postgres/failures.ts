// What a PostgreSQL failure means: the database's state (503 with Retry-After) or the request's fault
// (409, 400), and the one log line per change between available and unavailable.
import { HttpProblem, problems } from '../../errors/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics/metrics.ts';

/** Seconds a client should wait before retrying after a 503 dependency-unavailable (docs/contract.md). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Raised while the database cannot serve: unreachable, too slow, or not migrated yet. */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
  }
}

// Connection-level trouble and timeouts are the database's state, not the request's fault: 503 with
// Retry-After. Constraint and data errors are the request's.
type Failure = 'timeout' | 'unavailable' | 'conflict' | 'invalid' | 'unexpected';

// Node's socket errors; a cluster address that resolves to several hosts reports an AggregateError.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// pg raises these as plain Errors without a code (lib/client.js, pg-pool/index.js).
const CONNECT_TIMEOUT =
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout/;
const CONNECTION_LOST = /Connection terminated|connection error|not queryable|Client was closed/i;

function classify(err: unknown): Failure {
  if (err instanceof DatabaseUnavailableError) return 'unavailable';
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  // 57014 query_canceled: the server's statement_timeout; "Query read timeout": the client's.
  if (code === '57014' || message === 'Query read timeout' || CONNECT_TIMEOUT.test(message)) return 'timeout';
  // 08xxx connection exceptions, 57P0x the server shutting down or starting, 53300 too many connections.
  if (code.startsWith('08') || /^57P0[1-3]$/.test(code) || code === '53300') return 'unavailable';
  if (NETWORK_CODES.has(code) || CONNECTION_LOST.test(message)) return 'unavailable';
  if (Array.isArray(e?.errors) && e.errors.length > 0 && e.errors.every((x) => classify(x) === 'unavailable'))
    return 'unavailable';
  // Class 23 integrity constraint violations (23505 unique, 23514 check, ...), class 22 data exceptions.
  if (code.startsWith('23')) return 'conflict';
  if (code.startsWith('22')) return 'invalid';
  return 'unexpected';
}

/** True when the failure is the database's state (unreachable, timed out), not the query's. */
export const isDatabaseUnavailable = (err: unknown): boolean => {
  const f = classify(err);
  return f === 'timeout' || f === 'unavailable';
};

/** The problem a database failure answers with; undefined when it is unexpected (a 500 by the error handler). */
export function databaseProblem(err: unknown): HttpProblem | undefined {
  switch (classify(err)) {
    case 'timeout':
    case 'unavailable':
      return problems.dependencyUnavailable(DATABASE_RETRY_AFTER_SECONDS, err);
    case 'conflict':
      return new HttpProblem(409, { detail: 'The request conflicts with stored data.', cause: err });
    case 'invalid':
      return new HttpProblem(400, { detail: 'The database refused a value of the request.', cause: err });
    default:
      return undefined;
  }
}

// The failure's kind and message for logs: pg messages name objects, not values, and never the password.
export const describeFailure = (err: unknown) => ({
  type: (err as Error | null)?.name ?? 'Error',
  code: (err as { code?: unknown } | null)?.code,
  message: (err as Error | null)?.message,
});

export interface Availability {
  /** Counts connect timeouts; logs the first failure that makes the database unavailable. */
  noteFailure(err: unknown): void;
  /** Logs the database's return after it was unavailable. */
  noteSuccess(): void;
  /** The work's result, noted as a success or a failure (rethrown). */
  watch<T>(work: Promise<T>): Promise<T>;
}

/** One line per change of state, not one per failed request. */
export function trackAvailability(metrics: Metrics, logger: Logger, namespace: string): Availability {
  let available = true;
  const noteFailure = (err: unknown) => {
    if (CONNECT_TIMEOUT.test((err as Error | null)?.message ?? '')) metrics.dbConnectionTimeouts.inc();
    if (!available || !isDatabaseUnavailable(err)) return;
    available = false;
    logger.warn({ err: describeFailure(err), database: namespace }, 'database unavailable');
  };
  const noteSuccess = () => {
    if (available) return;
    available = true;
    logger.info({ database: namespace }, 'database available again');
  };
  return {
    noteFailure,
    noteSuccess,
    async watch(work) {
      try {
        const result = await work;
        noteSuccess();
        return result;
      } catch (err) {
        noteFailure(err);
        throw err;
      }
    },
  };
}
