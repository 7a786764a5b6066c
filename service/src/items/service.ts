// Items use cases: what the API does, with no knowledge of HTTP.
import { randomUUID } from 'node:crypto';
import { problems } from '../component/define-component.ts';
import type { ItemRepository } from './repository.ts';
import type { CreateItem, Item, ListQuery, PatchItem } from './schemas.ts';

export interface ItemPage {
  readonly items: readonly Item[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

export function createItemService(repo: ItemRepository, now: () => Date = () => new Date()) {
  const mustExist = async (id: string): Promise<Item> => {
    const item = await repo.findById(id);
    if (!item) throw problems.notFound(`Item ${id} does not exist.`);
    return item;
  };

  return {
    async create(input: CreateItem): Promise<Item> {
      const at = now().toISOString();
      const item: Item = {
        id: randomUUID(),
        name: input.name,
        quantity: input.quantity,
        createdAt: at,
        updatedAt: at,
      };
      await repo.insert(item);
      return item;
    },
    get: mustExist,
    async list({ limit, offset }: ListQuery): Promise<ItemPage> {
      const [items, total] = await Promise.all([repo.page(limit, offset), repo.count()]);
      return { items, total, limit, offset };
    },
    async update(id: string, patch: PatchItem): Promise<Item> {
      const current = await mustExist(id);
      const next: Item = {
        ...current,
        name: patch.name ?? current.name,
        quantity: patch.quantity ?? current.quantity,
        updatedAt: now().toISOString(),
      };
      if (!(await repo.update(next))) throw problems.notFound(`Item ${id} does not exist.`);
      return next;
    },
    async remove(id: string): Promise<void> {
      if (!(await repo.delete(id))) throw problems.notFound(`Item ${id} does not exist.`);
    },
  };
}

export type ItemService = ReturnType<typeof createItemService>;
