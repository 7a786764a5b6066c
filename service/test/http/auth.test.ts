// Bearer-token rules for writes and admin routes.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ADMIN_TOKEN, API_TOKEN, auth, buildItem, expectProblem, startTestService } from '../helpers.ts';

const post = (token?: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: token }) },
  body: JSON.stringify(buildItem()),
});

describe('authentication', () => {
  test('when a write has no or a wrong token, then 401 with WWW-Authenticate: Bearer and nothing stored', async (t) => {
    const svc = await startTestService(t);
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer wrong',
      `Basic ${API_TOKEN}`,
      `Bearer ${API_TOKEN}x`,
    ]) {
      const res = await svc.fetch('/api/v1/items', post(header));
      await expectProblem(res, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const list = (await (await svc.fetch('/api/v1/items')).json()) as { total: number };
    assert.equal(list.total, 0);
    const events = svc.logs.lines.filter((l) => l.event === 'unauthorized');
    assert.equal(events.length, 6);
  });

  test('when any of several API tokens is used, then the write is accepted', async (t) => {
    const svc = await startTestService(t, { API_TOKENS: `first-token, ${API_TOKEN}` });
    assert.equal((await svc.fetch('/api/v1/items', post('Bearer first-token'))).status, 201);
    assert.equal((await svc.fetch('/api/v1/items', post(`bearer ${API_TOKEN}`))).status, 201);
  });

  test('when reads carry no token, then they are allowed', async (t) => {
    const svc = await startTestService(t);
    assert.equal((await svc.fetch('/api/v1/items')).status, 200);
  });

  test('when an admin route gets an API token, then 403; no token, 401; the admin token, 200', async (t) => {
    const svc = await startTestService(t);
    await expectProblem(await svc.fetch('/api/admin/config', { headers: auth(API_TOKEN) }), 403);
    const unauth = await svc.fetch('/api/admin/config');
    await expectProblem(unauth, 401);
    assert.match(unauth.headers.get('www-authenticate') ?? '', /^Bearer/);
    const ok = await svc.fetch('/api/admin/config', { headers: auth(ADMIN_TOKEN) });
    assert.equal(ok.status, 200);
    const body = JSON.stringify(await ok.json());
    assert.ok(!body.includes(API_TOKEN) && !body.includes(ADMIN_TOKEN), 'admin config leaks a token');
  });

  test('when no admin token is configured, then admin routes refuse every request', async (t) => {
    const svc = await startTestService(t, { ADMIN_TOKEN: '' });
    await expectProblem(await svc.fetch('/api/admin/config', { headers: auth(API_TOKEN) }), 403);
    await expectProblem(await svc.fetch('/api/admin/config', { headers: auth('') }), 401);
  });
});
