// Creates the benchmark's SQLite file with the template's own migrations and one known item.
import { createItemRepository, itemMigrations } from '../../service/src/items/repository.ts';
import { openDatabase } from '../../service/src/platform/sqlite.ts';

export function seedDatabase(path: string, id: string): void {
  const db = openDatabase(path, itemMigrations);
  const now = new Date().toISOString();
  createItemRepository(db, (_spec, run) => run()).insert({
    id,
    name: 'benchmark widget',
    quantity: 3,
    createdAt: now,
    updatedAt: now,
  });
  db.close();
}
