// http_client_request_duration_seconds keeps its labels bounded, measured on real calls: hosts past
// the cap are `other`, a call with no response has an error_type and no status, and the endpoints the
// telemetry calls its own are not measured.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { exemplarPolicy } from '../../service/src/observability/metrics/exemplar-policy.ts';
import {
  MAX_SERVER_ADDRESSES,
  OTHER_SERVER_ADDRESS,
  observeHttpClients,
} from '../../service/src/observability/metrics/http-client-metrics.ts';
import { createMetrics } from '../../service/src/observability/metrics/metrics.ts';
import { freePort } from '../support/process.ts';

// No tail sampler here: every trace counts as kept.
const KEEP_ALL = exemplarPolicy(100);

interface Series {
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

async function counts(metrics: ReturnType<typeof createMetrics>): Promise<Series[]> {
  const { values } = await metrics.httpClientRequestDuration.get();
  return values
    .filter((v) => (v as { metricName?: string }).metricName === 'http_client_request_duration_seconds_count')
    .map((v) => ({ labels: v.labels as Series['labels'], value: v.value }));
}

function httpGet(url: string): Promise<void> {
  return new Promise((resolve) => {
    request(url, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', () => resolve())
      .end();
  });
}

test('when calls go to more hosts than the cap, then the hosts past it are counted as other, for fetch and node:http', async (t) => {
  const metrics = createMetrics({ version: 'test', revision: 'test' });
  const stop = observeHttpClients(metrics, () => false, KEEP_ALL);
  t.after(stop);
  // Bound and closed again: every 127.0.0.0/8 address refuses it at once.
  const port = await freePort();
  const hosts = Array.from({ length: MAX_SERVER_ADDRESSES + 5 }, (_, i) => `127.0.0.${i + 1}`);
  for (const host of hosts) {
    await fetch(`http://${host}:${port}/`).catch(() => {});
    await httpGet(`http://${host}:${port}/`);
  }

  const series = await counts(metrics);
  const addresses = new Set(series.map((s) => s.labels.server_address));
  assert.equal(addresses.size, MAX_SERVER_ADDRESSES + 1);
  assert.ok(addresses.has(OTHER_SERVER_ADDRESS));
  const other = series.find((s) => s.labels.server_address === OTHER_SERVER_ADDRESS);
  assert.equal(other?.value, 2 * 5, 'five hosts past the cap, two calls each');
  // No response: the error's code, no status.
  for (const s of series) {
    assert.equal(s.labels.error_type, 'ECONNREFUSED');
    assert.equal(s.labels.http_response_status_code, '');
    assert.equal(s.labels.http_request_method, 'GET');
  }
});

test('when a call goes to an endpoint the telemetry calls its own, then it is not measured; others are', async (t) => {
  const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const own = String((server.address() as AddressInfo).port);
  const metrics = createMetrics({ version: 'test', revision: 'test' });
  const stop = observeHttpClients(metrics, (host, port) => host === '127.0.0.1' && port === own, KEEP_ALL);
  t.after(stop);

  await (await fetch(`http://127.0.0.1:${own}/`, { method: 'POST', body: 'x' })).text();
  await httpGet(`http://127.0.0.1:${own}/`);
  assert.deepEqual(await counts(metrics), []);

  // The same server under another name is not the telemetry's endpoint: measured, with its status.
  await (await fetch(`http://localhost:${own}/`)).text();
  await httpGet(`http://localhost:${own}/`);
  const series = await counts(metrics);
  assert.deepEqual(
    series.map((s) => [
      s.labels.server_address,
      s.labels.http_response_status_code,
      s.labels.error_type,
      s.value,
    ]),
    [['localhost', '200', '', 2]],
  );
});

test('when measuring stops, then later calls are not measured', async () => {
  const metrics = createMetrics({ version: 'test', revision: 'test' });
  const stop = observeHttpClients(metrics, () => false, KEEP_ALL);
  const port = await freePort();
  const call = async () => {
    await fetch(`http://127.0.0.1:${port}/`).catch(() => {});
    await httpGet(`http://127.0.0.1:${port}/`);
  };
  await call();
  stop();
  await call();
  assert.deepEqual(
    (await counts(metrics)).map((s) => s.value),
    [2],
    'the two calls before stop only',
  );
});
