// Creates the benchmark's SQLite file with the template's own migrations and one known item.
import { sqliteMigrations } from '../../service/src/items/migrations/sqlite.ts';
import { createSqliteItemRepository } from '../../service/src/items/repository.sqlite.ts';
import { openDatabase } from '../../service/src/storage/sqlite.ts';

export function seedDatabase(path: string, id: string): void {
  const db = openDatabase(path, sqliteMigrations);
  const now = new Date().toISOString();
  // node:sqlite runs the insert on the call itself; the promise is only the repository contract's.
  void createSqliteItemRepository(db, (_spec, run) => run()).insert({
    id,
    name: 'benchmark widget',
    quantity: 3,
    createdAt: now,
    updatedAt: now,
  });
  db.close();
}
