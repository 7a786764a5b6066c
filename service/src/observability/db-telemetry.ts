// One client span and one duration observation per query, the same for SQLite and PostgreSQL: node:sqlite
// has no instrumentation, and instrumentation-pg names spans its own way (no db.collection.name, a span
// per pool connect), so the two backends would draw two pictures on the same dashboard.
import { type Attributes, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
} from '@opentelemetry/semantic-conventions';
import type { Metrics } from './metrics/metrics.ts';

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

/** What a query needs for its span and its histogram, the same on every run of it. */
interface Prepared {
  readonly operation: string;
  readonly collection: string;
  readonly summary: string;
  readonly attributes: Attributes;
  /** The duration histogram's child for a query that succeeded, its labels built once. */
  readonly ok: { observe(value: number): void };
}

export function createInstrument(metrics: Metrics, target: DbTarget): Instrument {
  const prepare = preparedQueries(metrics, target);
  const failed = (spec: QuerySpec, span: Span, err: unknown, seconds: () => number) => {
    const errorType = errorTypeOf(err);
    span.recordException(err as Error);
    span.setAttribute(ATTR_ERROR_TYPE, errorType);
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    metrics.dbOperationDuration.observe(durationLabels(target, spec, errorType), seconds());
  };
  return <T>(spec: QuerySpec, run: () => T): T => {
    const query = prepare(spec);
    const span = tracer.startSpan(query.summary, { kind: SpanKind.CLIENT, attributes: query.attributes });
    const start = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - start) / 1e9;
    const succeed = () => {
      span.end();
      query.ok.observe(seconds());
    };
    let result: T;
    try {
      result = context.with(trace.setSpan(context.active(), span), run);
    } catch (err) {
      failed(spec, span, err, seconds);
      throw err;
    }
    if (result instanceof Promise)
      return result.then(
        (value) => {
          succeed();
          return value;
        },
        (err: unknown) => {
          failed(spec, span, err, seconds);
          throw err;
        },
      ) as T;
    succeed();
    return result;
  };
}

const durationLabels = (target: DbTarget, spec: QuerySpec, errorType: string) => ({
  db_system_name: target.system,
  db_operation_name: spec.operation,
  db_collection_name: spec.collection,
  error_type: errorType,
});

// Repositories pass a few fixed queries: one entry per SQL text (the SDK copies span attributes).
function preparedQueries(metrics: Metrics, target: DbTarget): (spec: QuerySpec) => Prepared {
  const prepared = new Map<string, Prepared>();
  return (spec) => {
    const hit = prepared.get(spec.text);
    if (hit && hit.operation === spec.operation && hit.collection === spec.collection) return hit;
    const summary = `${spec.operation} ${spec.collection}`;
    const query: Prepared = {
      operation: spec.operation,
      collection: spec.collection,
      summary,
      attributes: {
        [ATTR_DB_SYSTEM_NAME]: target.system,
        [ATTR_DB_NAMESPACE]: target.namespace,
        [ATTR_DB_OPERATION_NAME]: spec.operation,
        [ATTR_DB_COLLECTION_NAME]: spec.collection,
        [ATTR_DB_QUERY_TEXT]: spec.text,
        [ATTR_DB_QUERY_SUMMARY]: summary,
      },
      ok: metrics.dbOperationDuration.labels(durationLabels(target, spec, '')),
    };
    prepared.set(spec.text, query);
    return query;
  };
}
