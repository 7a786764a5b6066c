// Opens the embedded SQLite database (WAL) and applies its migrations (queries are traced by db-telemetry.ts).
//
// node:sqlite rather than better-sqlite3: it ships with Node, so there is no native addon to
// compile (better-sqlite3 needs node-gyp and Node headers for every Node release) and no prebuilt
// binary to download at install time; its synchronous prepared-statement API is the same shape.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { databasePathFailure } from '../errors/startup-error.ts';
import {
  APPLIED_MIGRATIONS_TABLE,
  type Migration,
  MigrationRefused,
  pendingMigrations,
  previouslyApplied,
} from './migrations.ts';

// DB_SYSTEM_NAME_VALUE_SQLITE lives in the unstable "incubating" entry point; the value is fixed.
export const SQLITE_SYSTEM = 'sqlite';
// db.namespace for SQLite: the schema name SQL uses for the opened file (never its path).
export const SQLITE_NAMESPACE = 'main';

/** Opens (creating) the file and applies pending migrations; the caller checked their names (collectMigrations). */
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
  try {
    migrate(db, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
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

// Applied names live in a table; each migration runs in its own transaction with its record. A file
// written before named migrations counted them in PRAGMA user_version (left as it was, so that release
// still reads the file as migrated): those are recorded by name once, when the table is created.
function migrate(db: DatabaseSync, migrations: readonly Migration[]): void {
  const exists = db
    .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?")
    .get(APPLIED_MIGRATIONS_TABLE);
  if (!exists) {
    const { user_version: before } = db.prepare('PRAGMA user_version').get() as { user_version: number };
    const names = previouslyApplied(Array.from({ length: before }, (_, i) => i + 1));
    transaction(db, () => {
      db.exec(
        `CREATE TABLE ${APPLIED_MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`,
      );
      for (const name of names) record(db, name);
    });
  }
  const applied = (
    db.prepare(`SELECT name FROM ${APPLIED_MIGRATIONS_TABLE}`).all() as { name: string }[]
  ).map((r) => r.name);
  for (const m of pendingMigrations(migrations, applied)) {
    try {
      transaction(db, () => {
        db.exec(m.sql);
        record(db, m.name);
      });
    } catch (err) {
      throw new MigrationRefused('migration failed', m.name, { cause: err });
    }
  }
}

const record = (db: DatabaseSync, name: string) =>
  db
    .prepare(`INSERT INTO ${APPLIED_MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)`)
    .run(name, new Date().toISOString());

function transaction(db: DatabaseSync, run: () => void): void {
  db.exec('BEGIN');
  try {
    run();
    db.exec('COMMIT');
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
