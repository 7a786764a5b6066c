// One client span and one duration observation per database query, the same for SQLite and PostgreSQL.
//
// Manual rather than @opentelemetry/instrumentation-pg: node:sqlite has no instrumentation at all,
// and the pg one names spans and fills attributes its own way (no db.collection.name, a span per
// pool connect), so the two backends would draw two pictures on the same dashboard. One wrapper
// gives both the same span name, attributes and metric labels.
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
} from '@opentelemetry/semantic-conventions';
import type { Metrics } from './metrics.ts';

const tracer = trace.getTracer('service.db');

export interface QuerySpec {
  readonly operation: string;
  readonly collection: string;
  /** Parameterised SQL: placeholders only, never values. */
  readonly text: string;
}

/** Runs `run` inside a client span; a returned promise ends the span when it settles. */
export type Instrument = <T>(spec: QuerySpec, run: () => T) => T;

export interface DbTarget {
  /** db.system.name: `sqlite` or `postgresql`. */
  readonly system: string;
  /** db.namespace: the database name only (never a URL, host or credentials). */
  readonly namespace: string;
}

// A driver error's code (SQLITE_*, a PostgreSQL SQLSTATE, ECONNREFUSED), else its class name.
const errorTypeOf = (err: unknown): string => {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== '') return code;
  return err instanceof Error ? err.name : 'Error';
};

export function createInstrument(metrics: Metrics, target: DbTarget): Instrument {
  return <T>(spec: QuerySpec, run: () => T): T => {
    const summary = `${spec.operation} ${spec.collection}`;
    const span = tracer.startSpan(summary, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_DB_SYSTEM_NAME]: target.system,
        [ATTR_DB_NAMESPACE]: target.namespace,
        [ATTR_DB_OPERATION_NAME]: spec.operation,
        [ATTR_DB_COLLECTION_NAME]: spec.collection,
        [ATTR_DB_QUERY_TEXT]: spec.text,
        [ATTR_DB_QUERY_SUMMARY]: summary,
      },
    });
    const start = process.hrtime.bigint();
    const end = (errorType: string) => {
      span.end();
      metrics.dbOperationDuration.observe(
        {
          db_system_name: target.system,
          db_operation_name: spec.operation,
          db_collection_name: spec.collection,
          error_type: errorType,
        },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
    };
    const fail = (err: unknown) => {
      const errorType = errorTypeOf(err);
      span.recordException(err as Error);
      span.setAttribute(ATTR_ERROR_TYPE, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
      end(errorType);
    };
    let result: T;
    try {
      result = context.with(trace.setSpan(context.active(), span), run);
    } catch (err) {
      fail(err);
      throw err;
    }
    if (result instanceof Promise)
      return result.then(
        (value) => {
          end('');
          return value;
        },
        (err: unknown) => {
          fail(err);
          throw err;
        },
      ) as T;
    end('');
    return result;
  };
}
