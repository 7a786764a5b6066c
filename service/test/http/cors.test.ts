// CORS: exact allowlist, echoed origin with Vary, look-alikes refused and counted.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { startTestService } from '../helpers.ts';

const ALLOWED = 'https://app.example.com';

describe('CORS', () => {
  test('when an allowed origin calls, then it is echoed exactly with Vary: Origin and no credentials', async (t) => {
    const svc = await startTestService(t, { CORS_ORIGINS: `${ALLOWED}, https://admin.example.com` });
    const res = await svc.fetch('/api/v1/items', { headers: { origin: ALLOWED } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(res.headers.get('vary') ?? '', /Origin/);
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    const preflight = await svc.fetch('/api/v1/items', {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  });

  test('when null or a look-alike origin calls, then no Access-Control-Allow-Origin and a security event each', async (t) => {
    const svc = await startTestService(t, { CORS_ORIGINS: ALLOWED });
    const bad = [
      'null',
      'https://app.example.com.evil.net',
      'https://evilapp.example.com',
      'http://app.example.com',
      'https://app.example.com:8443',
    ];
    for (const origin of bad) {
      const res = await svc.fetch('/api/v1/items', { headers: { origin } });
      assert.equal(res.headers.get('access-control-allow-origin'), null, origin);
      assert.match(res.headers.get('vary') ?? '', /Origin/, origin);
    }
    const preflight = await svc.fetch('/api/v1/items', {
      method: 'OPTIONS',
      headers: { origin: 'https://evilapp.example.com', 'access-control-request-method': 'DELETE' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-methods'), null);
    const events = svc.logs.lines.filter((l) => l.event === 'cors_rejected');
    assert.equal(events.length, bad.length + 1);
    const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    assert.match(metrics, new RegExp(`security_events_total\\{type="cors_rejected"\\} ${bad.length + 1}`));
  });

  test('when CORS_ORIGINS is "*" outside production, then "*" is sent and never with credentials', async (t) => {
    const svc = await startTestService(t, { CORS_ORIGINS: '*' });
    const res = await svc.fetch('/api/v1/items', { headers: { origin: 'https://anything.example' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
  });

  test('when CORS_ORIGINS is empty, then no CORS headers are sent and foreign origins are counted', async (t) => {
    const svc = await startTestService(t);
    const res = await svc.fetch('/api/v1/items', { headers: { origin: ALLOWED } });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(svc.logs.lines.filter((l) => l.event === 'cors_rejected').length, 1);
  });
});
