// Client identity for rate-limit keys: spoofed X-Forwarded-For, IPv6 /64 grouping, IPv4-mapped.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { clientKey } from '../../src/http/client-ip.ts';
import { startTestService } from '../helpers.ts';

const remaining = (res: Response) =>
  Number(/"general";r=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1]);
const from = (xff: string) => ({ headers: { 'x-forwarded-for': xff } });

describe('client identity', () => {
  test('when a direct client rotates X-Forwarded-For, then it keeps one rate-limit key and is limited', async (t) => {
    const svc = await startTestService(t, { RATE_LIMIT_GENERAL_POINTS: '5' });
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await svc.fetch('/api/v1/items', from(`198.51.100.${i}, 10.0.0.${i}`));
      assert.equal(res.status, 200);
      seen.push(remaining(res));
    }
    assert.deepEqual(seen, [4, 3, 2, 1, 0]);
    assert.equal((await svc.fetch('/api/v1/items', from('203.0.113.77'))).status, 429);
  });

  test('when one proxy hop is trusted, then only the address the proxy appended is the client', async (t) => {
    const svc = await startTestService(t, { RATE_LIMIT_GENERAL_POINTS: '3', TRUST_PROXY: '1' });
    // The client controls everything left of what our proxy appended.
    for (let i = 0; i < 3; i++)
      assert.equal((await svc.fetch('/api/v1/items', from(`10.9.9.${i}, 203.0.113.5`))).status, 200);
    assert.equal((await svc.fetch('/api/v1/items', from('1.2.3.4, 203.0.113.5'))).status, 429);
    assert.equal((await svc.fetch('/api/v1/items', from('203.0.113.6'))).status, 200, 'another client');
  });

  test('when IPv6 clients share a /64, then they share one key; another /64 has its own', async (t) => {
    const svc = await startTestService(t, { RATE_LIMIT_GENERAL_POINTS: '10', TRUST_PROXY: '127.0.0.1, ::1' });
    assert.equal(remaining(await svc.fetch('/api/v1/items', from('2001:db8:a:b::1'))), 9);
    assert.equal(remaining(await svc.fetch('/api/v1/items', from('2001:db8:a:b:ffff:1:2:3'))), 8);
    assert.equal(remaining(await svc.fetch('/api/v1/items', from('2001:0db8:000a:000b::9'))), 7);
    assert.equal(remaining(await svc.fetch('/api/v1/items', from('2001:db8:a:c::1'))), 9);
  });

  test('when an IPv4-mapped IPv6 address arrives, then it is keyed as the IPv4 address', async (t) => {
    const svc = await startTestService(t, { RATE_LIMIT_GENERAL_POINTS: '10', TRUST_PROXY: '127.0.0.1' });
    assert.equal(remaining(await svc.fetch('/api/v1/items', from('::ffff:198.51.100.7'))), 9);
    assert.equal(remaining(await svc.fetch('/api/v1/items', from('198.51.100.7'))), 8);
    assert.equal(remaining(await svc.fetch('/api/v1/items', from('::ffff:c633:6407'))), 7);
  });

  test('when keys are derived, then forms of one client agree', () => {
    assert.equal(clientKey('::ffff:127.0.0.1'), '127.0.0.1');
    assert.equal(clientKey('2001:db8:0:0:1::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('2001:db8::ffff'), '2001:db8:0:0::/64');
    assert.equal(clientKey(undefined), 'unknown');
  });
});
