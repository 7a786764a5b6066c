// Items persistence contract: what the service may ask of storage. repository.sqlite.ts and
// repository.postgres.ts implement it, and service/test/items/repository.test.ts runs one suite on both.
import type { Item } from './schemas.ts';

export interface ItemRepository {
  insert(item: Item): Promise<void>;
  findById(id: string): Promise<Item | undefined>;
  /** Items ordered by creation (then id), `limit` of them after skipping `offset`. */
  page(limit: number, offset: number): Promise<Item[]>;
  count(): Promise<number>;
  /** False when no item has that id. */
  update(item: Item): Promise<boolean>;
  /** False when no item has that id. */
  delete(id: string): Promise<boolean>;
}

/** The query spec both implementations trace: same operation and collection names, their own SQL. */
export const itemQuery = (operation: string, text: string) => ({ operation, collection: 'items', text });
