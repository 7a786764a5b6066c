// Opens the embedded SQLite database (WAL), applies migrations, and wraps every query in a span and a metric.
//
// node:sqlite rather than better-sqlite3: it ships with Node 24, so there is no native addon to
// compile (better-sqlite3 needs node-gyp and Node headers for every Node release) and no prebuilt
// binary to download at install time; its synchronous prepared-statement API is the same shape.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
} from '@opentelemetry/semantic-conventions';
import type { Metrics } from './metrics.ts';

// DB_SYSTEM_NAME_VALUE_SQLITE lives in the unstable "incubating" entry point; the value is fixed.
const DB_SYSTEM = 'sqlite';
const tracer = trace.getTracer('service.sqlite');

export type Migration = (db: DatabaseSync) => void;

export function openDatabase(path: string, migrations: readonly Migration[]): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA foreign_keys = ON');
  migrate(db, migrations);
  return db;
}

// PRAGMA user_version records how many migrations ran; each runs once, in its own transaction.
function migrate(db: DatabaseSync, migrations: readonly Migration[]): void {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  for (let v = row.user_version; v < migrations.length; v++) {
    db.exec('BEGIN');
    try {
      migrations[v]?.(db);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
}

export interface QuerySpec {
  readonly operation: string;
  readonly collection: string;
  /** Parameterised SQL: placeholders only, never values. */
  readonly text: string;
}

export type Instrument = <T>(spec: QuerySpec, run: () => T) => T;

export function createInstrument(metrics: Metrics): Instrument {
  return (spec, run) => {
    const span = tracer.startSpan(`${spec.operation} ${spec.collection}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM,
        [ATTR_DB_OPERATION_NAME]: spec.operation,
        [ATTR_DB_COLLECTION_NAME]: spec.collection,
        [ATTR_DB_QUERY_TEXT]: spec.text,
      },
    });
    const start = process.hrtime.bigint();
    let errorType = '';
    try {
      return context.with(trace.setSpan(context.active(), span), run);
    } catch (err) {
      errorType = (err as { code?: string }).code ?? (err instanceof Error ? err.name : 'Error');
      span.recordException(err as Error);
      span.setAttribute(ATTR_ERROR_TYPE, errorType);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
      metrics.dbOperationDuration.observe(
        {
          db_system_name: DB_SYSTEM,
          db_operation_name: spec.operation,
          db_collection_name: spec.collection,
          error_type: errorType,
        },
        Number(process.hrtime.bigint() - start) / 1e9,
      );
    }
  };
}
