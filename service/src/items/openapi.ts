// The items API in the OpenAPI document (service/src/openapi/document.ts): its paths, built from the zod
// schemas the routes validate with (schemas.ts), and the shape of what it answers.
import { z } from 'zod';
import {
  body,
  json,
  type OpenApiPaths,
  operation,
  pathParameter,
  queryParameters,
  schemaOf,
} from '../component/define-component.ts';
import { ITEMS_PATH } from './routes.ts';
import { createItemSchema, itemIdSchema, listQuerySchema, patchItemSchema } from './schemas.ts';

// What the routes answer (the Item interface in schemas.ts). Responses are not validated at run
// time; the contract test checks every response the component tests receive against these.
const itemSchema = z.strictObject({
  id: z.uuid(),
  name: z.string(),
  quantity: z.number().int().min(0),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const itemPageSchema = z.strictObject({
  items: z.array(itemSchema),
  total: z.number().int().min(0),
  limit: z.number().int().min(1),
  offset: z.number().int().min(0),
});

const page = schemaOf(itemPageSchema, 'output');
/** What the items component adds to components.schemas. */
export const itemSchemas = {
  Item: schemaOf(itemSchema, 'output'),
  // The page's items by reference, so that clients generate one Item type.
  ItemPage: {
    ...page,
    properties: {
      ...(page.properties as object),
      items: { type: 'array', items: { $ref: '#/components/schemas/Item' } },
    },
  },
};

const idParameter = pathParameter('id', itemIdSchema, 'The item id.');

export function itemPaths(): OpenApiPaths {
  const read = {
    tiers: ['general', 'api'],
    problems: ['validation-error', 'dependency-unavailable'],
  } as const;
  const write = { ...read, auth: 'api', body: true } as const;
  const one = ['validation-error', 'not-found', 'dependency-unavailable'] as const;
  return {
    [ITEMS_PATH]: {
      get: operation(read, {
        operationId: 'listItems',
        summary: 'List items, a page at a time (limit 1..100, default 20).',
        parameters: queryParameters(listQuerySchema),
        responses: { 200: { description: 'A page of items.', content: json('ItemPage') } },
      }),
      post: operation(write, {
        operationId: 'createItem',
        summary: 'Create an item.',
        requestBody: body(createItemSchema, 'The new item.'),
        responses: {
          201: {
            description: 'Created; Location names the new item.',
            headers: { Location: { $ref: '#/components/headers/Location' } },
            content: json('Item'),
          },
        },
      }),
    },
    [`${ITEMS_PATH}/{id}`]: {
      get: operation(
        { ...read, problems: one },
        {
          operationId: 'getItem',
          summary: 'One item.',
          parameters: [idParameter],
          responses: { 200: { description: 'The item.', content: json('Item') } },
        },
      ),
      patch: operation(
        { ...write, problems: one },
        {
          operationId: 'updateItem',
          summary: 'Change the name and/or the quantity of an item (at least one of them).',
          parameters: [idParameter],
          requestBody: body(patchItemSchema, 'The fields to change: name, quantity, or both.'),
          responses: { 200: { description: 'The changed item.', content: json('Item') } },
        },
      ),
      delete: operation(
        { ...write, body: false, problems: one },
        {
          operationId: 'deleteItem',
          summary: 'Delete an item.',
          parameters: [idParameter],
          responses: { 204: { description: 'Deleted.' } },
        },
      ),
    },
  };
}
