// HTTP mapping of the items use cases: parse, call the service, shape the response. Nothing else.
import { Router } from 'express';
import type { HttpKit } from '../component/define-component.ts';
import { createItemSchema, itemIdSchema, listQuerySchema, patchItemSchema } from './schemas.ts';
import type { ItemService } from './service.ts';

export const ITEMS_PATH = '/api/v1/items';

export interface ItemRoutesDeps extends HttpKit {
  readonly items: ItemService;
}

export function itemRoutes({ items, requireRole, parse, jsonBody }: ItemRoutesDeps): Router {
  const router = Router();
  const write = [requireRole('api'), ...jsonBody];

  router.get('/', async (req, res) => {
    const page = await items.list(parse(listQuerySchema, req.query, 'query'));
    res.json(page);
  });

  router.post('/', ...write, async (req, res) => {
    const item = await items.create(parse(createItemSchema, req.body, 'body'));
    res.status(201).location(`${ITEMS_PATH}/${item.id}`).json(item);
  });

  router.get('/:id', async (req, res) => {
    res.json(await items.get(parse(itemIdSchema, req.params.id, 'path')));
  });

  router.patch('/:id', ...write, async (req, res) => {
    const id = parse(itemIdSchema, req.params.id, 'path');
    res.json(await items.update(id, parse(patchItemSchema, req.body, 'body')));
  });

  router.delete('/:id', requireRole('api'), async (req, res) => {
    await items.remove(parse(itemIdSchema, req.params.id, 'path'));
    res.status(204).end();
  });

  return router;
}
