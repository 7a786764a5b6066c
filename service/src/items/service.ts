// Items use cases: what the API does, with no knowledge of HTTP.
import { randomUUID } from 'node:crypto';
import { problems } from '../platform/errors.ts';
import type { ItemRepository } from './repository.ts';
import type { CreateItem, Item, ListQuery, PatchItem } from './schemas.ts';

export interface ItemPage {
  readonly items: readonly Item[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

export function createItemService(repo: ItemRepository, now: () => Date = () => new Date()) {
  const mustExist = (id: string): Item => {
    const item = repo.findById(id);
    if (!item) throw problems.notFound(`Item ${id} does not exist.`);
    return item;
  };

  return {
    create(input: CreateItem): Item {
      const at = now().toISOString();
      const item: Item = {
        id: randomUUID(),
        name: input.name,
        quantity: input.quantity,
        createdAt: at,
        updatedAt: at,
      };
      repo.insert(item);
      return item;
    },
    get: mustExist,
    list({ limit, offset }: ListQuery): ItemPage {
      return { items: repo.page(limit, offset), total: repo.count(), limit, offset };
    },
    update(id: string, patch: PatchItem): Item {
      const current = mustExist(id);
      const next: Item = {
        ...current,
        name: patch.name ?? current.name,
        quantity: patch.quantity ?? current.quantity,
        updatedAt: now().toISOString(),
      };
      if (!repo.update(next)) throw problems.notFound(`Item ${id} does not exist.`);
      return next;
    },
    remove(id: string): void {
      if (!repo.delete(id)) throw problems.notFound(`Item ${id} does not exist.`);
    },
  };
}

export type ItemService = ReturnType<typeof createItemService>;
