// Named migrations, shared by both backends: each has a name unique across the service
// (`<component>/<id>`), the databases record applied names, and anything that cannot be applied
// safely refuses the start with one log line (docs/contract.md, "Migrations").

/** The table, on both backends, that holds one row per applied migration name. */
export const APPLIED_MIGRATIONS_TABLE = 'applied_migrations';

export interface Migration {
  /** `<component>/<id>`, e.g. `items/0001-create`: recorded when applied, never renamed. */
  readonly name: string;
  /** One or more statements, run in one transaction with the record of the name. */
  readonly sql: string;
}

/**
 * Releases before named migrations numbered them (PostgreSQL `schema_migrations.version`, SQLite's
 * `PRAGMA user_version` count) over one list, which only ever held these two. Kept here, not on the
 * migrations, so that a component copied from items/ carries no claim on them.
 */
const PREVIOUS_RELEASE_VERSIONS: ReadonlyMap<number, string> = new Map([
  [1, 'items/0001-create'],
  [2, 'items/0002-by-creation'],
]);

export type MigrationRefusalReason =
  | 'duplicate name'
  | 'name outside its component'
  | 'applied migration missing from the code'
  | 'migration failed';

/** Start-up must stop: the migrations in the code and the database cannot be reconciled safely. */
export class MigrationRefused extends Error {
  readonly reason: MigrationRefusalReason;
  readonly migration: string;
  constructor(reason: MigrationRefusalReason, migration: string, options?: { cause?: unknown }) {
    super(`${reason}: ${migration}`, options);
    this.name = 'MigrationRefused';
    this.reason = reason;
    this.migration = migration;
  }
}

/** One component's migrations, as the composition root hands them over. */
export interface OwnedMigrations {
  readonly component: string;
  readonly migrations: readonly Migration[];
}

/** The service's migrations in order (components in list order, each in its own order); refuses duplicates. */
export function collectMigrations(owned: readonly OwnedMigrations[]): Migration[] {
  const seen = new Set<string>();
  const all: Migration[] = [];
  for (const { component, migrations } of owned)
    for (const m of migrations) {
      if (!m.name.startsWith(`${component}/`) || m.name.length <= component.length + 1)
        throw new MigrationRefused('name outside its component', m.name);
      if (seen.has(m.name)) throw new MigrationRefused('duplicate name', m.name);
      seen.add(m.name);
      all.push(m);
    }
  return all;
}

/** What to apply, given the names a database has applied; refuses names the code no longer has. */
export function pendingMigrations(all: readonly Migration[], applied: Iterable<string>): Migration[] {
  const known = new Set(all.map((m) => m.name));
  const done = new Set(applied);
  for (const name of done)
    if (!known.has(name)) throw new MigrationRefused('applied migration missing from the code', name);
  return all.filter((m) => !done.has(m.name));
}

/** Names a database written before named migrations has applied, from its version numbers. */
export function previouslyApplied(versions: Iterable<number>): string[] {
  return [...versions].map((v) => {
    const name = PREVIOUS_RELEASE_VERSIONS.get(v);
    if (name === undefined)
      throw new MigrationRefused('applied migration missing from the code', `version ${v}`);
    return name;
  });
}
