// Opens the embedded SQLite database (WAL) and applies its migrations (queries are traced by db-telemetry.ts).
//
// node:sqlite rather than better-sqlite3: it ships with Node, so there is no native addon to
// compile (better-sqlite3 needs node-gyp and Node headers for every Node release) and no prebuilt
// binary to download at install time; its synchronous prepared-statement API is the same shape.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { databasePathFailure } from './startup-error.ts';

// DB_SYSTEM_NAME_VALUE_SQLITE lives in the unstable "incubating" entry point; the value is fixed.
export const SQLITE_SYSTEM = 'sqlite';
// db.namespace for SQLite: the schema name SQL uses for the opened file (never its path).
export const SQLITE_NAMESPACE = 'main';

export type Migration = (db: DatabaseSync) => void;

export function openDatabase(path: string, migrations: readonly Migration[]): DatabaseSync {
  let db: DatabaseSync;
  try {
    if (path !== ':memory:') makeDirectory(dirname(path));
    db = new DatabaseSync(path);
    // WAL creates its -wal and -shm files next to the database: a read-only directory fails here.
    db.exec('PRAGMA journal_mode = WAL');
    if (path !== ':memory:') db.exec('CREATE TABLE IF NOT EXISTS _write_check (x); DROP TABLE _write_check');
  } catch (err) {
    throw databasePathFailure(err, path);
  }
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA foreign_keys = ON');
  migrate(db, migrations);
  return db;
}

// Not mkdirSync's recursive mode: under a pseudo-filesystem (DATABASE_PATH=/proc/x/items.db) Node's
// recursive mkdir retries forever, and start-up must fail with a line, not hang. One level at a time,
// each mkdir fails with its own error code.
function makeDirectory(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirectory(parent);
  mkdirSync(dir);
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
