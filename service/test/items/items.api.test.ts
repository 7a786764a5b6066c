// The items API over real HTTP: responses and stored state.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { buildItem, createItem, expectProblem, jsonHeaders, startTestService } from '../helpers.ts';

describe('items API', () => {
  test('when an item is created, then it is returned with an id and a Location that serves it', async (t) => {
    const svc = await startTestService(t);
    const res = await svc.fetch('/api/v1/items', {
      method: 'POST',
      headers: jsonHeaders(),
      body: JSON.stringify(buildItem({ name: 'bolt', quantity: 7 })),
    });
    assert.equal(res.status, 201);
    const item = (await res.json()) as Record<string, unknown>;
    assert.match(String(item.id), /^[0-9a-f-]{36}$/);
    assert.equal(item.name, 'bolt');
    assert.equal(item.quantity, 7);
    const location = res.headers.get('location');
    assert.equal(location, `/api/v1/items/${item.id}`);
    const fetched = await svc.fetch(location ?? '');
    assert.equal(fetched.status, 200);
    assert.deepEqual(await fetched.json(), item);
  });

  test('when an item is patched, then only the given fields change and updatedAt moves', async (t) => {
    const svc = await startTestService(t);
    const item = await createItem(svc, buildItem({ name: 'nut', quantity: 1 }));
    await new Promise((r) => setTimeout(r, 5));
    const res = await svc.fetch(`/api/v1/items/${item.id}`, {
      method: 'PATCH',
      headers: jsonHeaders(),
      body: JSON.stringify({ quantity: 9 }),
    });
    assert.equal(res.status, 200);
    const patched = (await res.json()) as typeof item;
    assert.equal(patched.name, 'nut');
    assert.equal(patched.quantity, 9);
    assert.equal(patched.createdAt, item.createdAt);
    assert.ok(patched.updatedAt > item.updatedAt);
    const again = (await (await svc.fetch(`/api/v1/items/${item.id}`)).json()) as typeof item;
    assert.equal(again.quantity, 9);
  });

  test('when an item is deleted, then it answers 204 and is gone', async (t) => {
    const svc = await startTestService(t);
    const item = await createItem(svc);
    const del = await svc.fetch(`/api/v1/items/${item.id}`, { method: 'DELETE', headers: jsonHeaders() });
    assert.equal(del.status, 204);
    assert.equal(await del.text(), '');
    await expectProblem(await svc.fetch(`/api/v1/items/${item.id}`), 404);
    await expectProblem(
      await svc.fetch(`/api/v1/items/${item.id}`, { method: 'DELETE', headers: jsonHeaders() }),
      404,
    );
  });

  test('when a missing item is read or patched, then 404 problem+json names it', async (t) => {
    const svc = await startTestService(t);
    const id = '00000000-0000-4000-8000-000000000000';
    const body = await expectProblem(await svc.fetch(`/api/v1/items/${id}`), 404);
    assert.match(String(body.detail), new RegExp(id));
    assert.equal(body.instance, `/api/v1/items/${id}`);
    await expectProblem(
      await svc.fetch(`/api/v1/items/${id}`, {
        method: 'PATCH',
        headers: jsonHeaders(),
        body: '{"quantity":1}',
      }),
      404,
    );
  });

  test('when items are listed, then pages follow limit and offset and report the total', async (t) => {
    const svc = await startTestService(t);
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createItem(svc, buildItem({ name: `item-${i}` })));
    const first = (await (await svc.fetch('/api/v1/items?limit=2')).json()) as Record<string, unknown>;
    assert.deepEqual(
      (first.items as { id: string }[]).map((i) => i.id),
      created.slice(0, 2).map((i) => i.id),
    );
    assert.equal(first.total, 5);
    assert.equal(first.limit, 2);
    assert.equal(first.offset, 0);
    const last = (await (await svc.fetch('/api/v1/items?limit=2&offset=4')).json()) as {
      items: { id: string }[];
    };
    assert.deepEqual(
      last.items.map((i) => i.id),
      [created[4]?.id],
    );
    const defaults = (await (await svc.fetch('/api/v1/items')).json()) as Record<string, unknown>;
    assert.equal(defaults.limit, 20);
    assert.equal((defaults.items as unknown[]).length, 5);
  });

  test('when the page size is out of bounds or not a number, then 400 lists the parameter', async (t) => {
    const svc = await startTestService(t);
    for (const q of ['limit=101', 'limit=0', 'limit=abc', 'offset=-1', 'limit=1&limit=2', 'sort=name']) {
      const body = await expectProblem(await svc.fetch(`/api/v1/items?${q}`), 400);
      const errors = body.errors as { field: string }[];
      assert.ok(errors.length > 0, q);
      assert.ok(
        errors.every((e) => ['limit', 'offset', 'sort'].includes(e.field)),
        `${q}: ${JSON.stringify(errors)}`,
      );
    }
  });
});

describe('items validation', () => {
  const cases: [string, unknown, string[]][] = [
    ['empty name', { name: '', quantity: 1 }, ['name']],
    ['name too long', { name: 'x'.repeat(201), quantity: 1 }, ['name']],
    ['negative quantity', { name: 'a', quantity: -1 }, ['quantity']],
    ['fractional quantity', { name: 'a', quantity: 1.5 }, ['quantity']],
    ['quantity as string', { name: 'a', quantity: '1' }, ['quantity']],
    ['missing fields', {}, ['name', 'quantity']],
    ['unknown field', { name: 'a', quantity: 1, admin: true }, ['admin']],
    ['array body', [1, 2], ['(body)']],
  ];
  for (const [what, body, fields] of cases) {
    test(`when the body has ${what}, then 400 lists ${fields.join(', ')} and nothing is stored`, async (t) => {
      const svc = await startTestService(t);
      const res = await svc.fetch('/api/v1/items', {
        method: 'POST',
        headers: jsonHeaders(),
        body: JSON.stringify(body),
      });
      const problem = await expectProblem(res, 400);
      assert.equal(problem.type, '/problems/validation-error');
      assert.deepEqual(
        (problem.errors as { field: string }[]).map((e) => e.field).sort(),
        [...fields].sort(),
      );
      const list = (await (await svc.fetch('/api/v1/items')).json()) as { total: number };
      assert.equal(list.total, 0);
    });
  }

  test('when a 200-character name is sent, then it is accepted', async (t) => {
    const svc = await startTestService(t);
    const item = await createItem(svc, buildItem({ name: 'n'.repeat(200), quantity: 0 }));
    assert.equal(item.name.length, 200);
  });

  test('when the JSON is malformed, then 400 malformed-body without echoing the body', async (t) => {
    const svc = await startTestService(t);
    const res = await svc.fetch('/api/v1/items', {
      method: 'POST',
      headers: jsonHeaders(),
      body: '{"name": "sec',
    });
    const problem = await expectProblem(res, 400);
    assert.equal(problem.type, '/problems/malformed-body');
    assert.doesNotMatch(JSON.stringify(problem), /sec/);
  });

  test('when a patch is empty or has unknown fields, then 400', async (t) => {
    const svc = await startTestService(t);
    const item = await createItem(svc);
    for (const body of [{}, { id: 'x' }]) {
      const res = await svc.fetch(`/api/v1/items/${item.id}`, {
        method: 'PATCH',
        headers: jsonHeaders(),
        body: JSON.stringify(body),
      });
      await expectProblem(res, 400);
    }
  });

  test('when the id is not a UUID, then 400 on the path parameter', async (t) => {
    const svc = await startTestService(t);
    const problem = await expectProblem(await svc.fetch('/api/v1/items/not-an-id'), 400);
    assert.deepEqual(problem.errors, [{ field: '(path)', message: 'must be an item id (UUID)' }]);
  });
});
