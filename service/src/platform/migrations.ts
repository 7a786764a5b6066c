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
  /**
   * Its number in releases before named migrations (PostgreSQL `schema_migrations.version`, SQLite's
   * `PRAGMA user_version` position): a database written by such a release has applied it already.
   */
  readonly previousVersion?: number;
}

export type MigrationRefusalReason =
  | 'duplicate name'
  | 'duplicate previous version'
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
  const versions = new Set<number>();
  const all: Migration[] = [];
  for (const { component, migrations } of owned)
    for (const m of migrations) {
      if (!m.name.startsWith(`${component}/`) || m.name.length <= component.length + 1)
        throw new MigrationRefused('name outside its component', m.name);
      if (seen.has(m.name)) throw new MigrationRefused('duplicate name', m.name);
      seen.add(m.name);
      if (m.previousVersion !== undefined) {
        if (versions.has(m.previousVersion)) throw new MigrationRefused('duplicate previous version', m.name);
        versions.add(m.previousVersion);
      }
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
export function previouslyApplied(all: readonly Migration[], versions: Iterable<number>): string[] {
  const byVersion = new Map(
    all.flatMap((m) => (m.previousVersion === undefined ? [] : [[m.previousVersion, m.name] as const])),
  );
  return [...versions].map((v) => {
    const name = byVersion.get(v);
    if (name === undefined)
      throw new MigrationRefused('applied migration missing from the code', `version ${v}`);
    return name;
  });
}
