// The shapes the items API accepts and returns.
import { z } from 'zod';
import { pageQuerySchema, text } from '../component/define-component.ts';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

// Single-line text (http/validation.ts): checked as sent, then trimmed.
const name = text().trim().min(1, 'must be 1 to 200 characters').max(200, 'must be 1 to 200 characters');
const quantity = z
  .number()
  .int('must be an integer')
  .min(0, 'must be 0 or more')
  .max(Number.MAX_SAFE_INTEGER);

export const createItemSchema = z.strictObject({ name, quantity });
export const patchItemSchema = z
  .strictObject({ name: name.optional(), quantity: quantity.optional() })
  .refine(
    (v) => v.name !== undefined || v.quantity !== undefined,
    'at least one of name, quantity is required',
  );

export const itemIdSchema = z.uuid('must be an item id (UUID)');

export const listQuerySchema = pageQuerySchema(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE);

export type CreateItem = z.infer<typeof createItemSchema>;
export type PatchItem = z.infer<typeof patchItemSchema>;
export type ListQuery = z.infer<typeof listQuerySchema>;

export interface Item {
  readonly id: string;
  readonly name: string;
  readonly quantity: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}
