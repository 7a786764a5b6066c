// The items component: everything the service needs from it, registered in service/src/components.ts.
import { defineComponent } from '../component/define-component.ts';
import { postgresMigrations } from './migrations/postgres.ts';
import { sqliteMigrations } from './migrations/sqlite.ts';
import { itemPaths, itemSchemas } from './openapi.ts';
import { createPostgresItemRepository } from './repository.postgres.ts';
import { createSqliteItemRepository } from './repository.sqlite.ts';
import type { ItemRepository } from './repository.ts';
import { ITEMS_PATH, itemRoutes } from './routes.ts';
import { createItemService } from './service.ts';

export const items = defineComponent<ItemRepository>({
  name: 'items',
  dir: import.meta.dirname,
  path: ITEMS_PATH,
  migrations: { sqlite: sqliteMigrations, postgresql: postgresMigrations },
  repository: {
    sqlite: ({ db, instrument }) => createSqliteItemRepository(db, instrument),
    postgresql: ({ pg }) => createPostgresItemRepository(pg),
  },
  routes: (repository, kit) => itemRoutes({ items: createItemService(repository), ...kit }),
  openapi: { paths: itemPaths, schemas: itemSchemas },
});
