// A second component added the way the README says (test/fixtures/components/orders): its routes over
// real HTTP on SQLite and PostgreSQL, its RED series, its operations in the OpenAPI document and the
// contract check, its problem types, and migrations that are named, owned, and refused when unsafe.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, type TestContext, test } from 'node:test';
import type { Component } from '../../service/src/component/define-component.ts';
import { COMPONENTS } from '../../service/src/components.ts';
import { ConfigError, loadConfig } from '../../service/src/config.ts';
import { createDependencies } from '../../service/src/dependencies.ts';
import { StartupRefused } from '../../service/src/errors/startup-error.ts';
import { openApiDocument } from '../../service/src/openapi/document.ts';
import { jsonHeaders, LogCapture, startTestService } from '../../service/test/helpers.ts';
import { problemTypesInCode } from '../../service/test/openapi-contract.ts';
import { orders, outOfStock } from '../fixtures/components/orders/component.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { metricValue, spawnRaw } from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';

const ENTRY = 'test/fixtures/components/server.ts';

/** The downstream stock service: reserves up to 10 of a SKU, refuses more with 409. */
async function startStock(t: TestContext) {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString('utf8');
    });
    req.on('end', () => {
      const { quantity } = JSON.parse(raw) as { quantity: number };
      res.writeHead(quantity > 10 ? 409 : 201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `r-${received.length}` }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const WITH_ORDERS: readonly Component[] = [...COMPONENTS, orders];
const NO_STOCK = { ORDERS_STOCK_URL: 'http://127.0.0.1:9' };

const backends = {
  sqlite: async (t: TestContext) => {
    const dir = mkdtempSync(join(tmpdir(), 'orders-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'service.db');
    return {
      env: { DATABASE_PATH: path },
      applied: async () => {
        const db = new DatabaseSync(path);
        try {
          return (
            db.prepare('SELECT name FROM applied_migrations ORDER BY name').all() as { name: string }[]
          ).map((r) => r.name);
        } finally {
          db.close();
        }
      },
      hasTable: async (name: string) => {
        const db = new DatabaseSync(path);
        try {
          return (
            db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !==
            undefined
          );
        } finally {
          db.close();
        }
      },
    };
  },
  postgresql: async (t: TestContext) => {
    const db = await createTestDatabase(t);
    return {
      env: { DATABASE_URL: db.url },
      applied: async () =>
        (
          await db
            .query<{ name: string }>(
              "SELECT name FROM applied_migrations WHERE to_regclass('applied_migrations') IS NOT NULL ORDER BY name",
            )
            .catch(() => [])
        ).map((r) => r.name),
      hasTable: async (name: string) =>
        (await db.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [name]))[0]?.t !== null,
    };
  },
};

for (const [backend, open] of Object.entries(backends)) {
  describe(`orders component on ${backend}`, () => {
    test('when orders are created and read over HTTP, then they are stored, documented, measured and migrated by name', async (t) => {
      const stock = await startStock(t);
      const store = await open(t);
      const svc = await startTestService(
        t,
        { ...store.env, ORDERS_STOCK_URL: stock.url },
        { components: WITH_ORDERS },
      );

      const created = await svc.fetch('/api/v1/orders', {
        method: 'POST',
        headers: jsonHeaders(),
        body: JSON.stringify({ sku: 'widget-1', quantity: 3 }),
      });
      assert.equal(created.status, 201);
      const order = (await created.json()) as { id: string; reservation: string };
      assert.equal(created.headers.get('location'), `/api/v1/orders/${order.id}`);
      assert.equal(order.reservation, 'r-1', 'the stock service was called');
      assert.deepEqual(await (await svc.fetch(`/api/v1/orders/${order.id}`)).json(), order);

      const refused = await svc.fetch('/api/v1/orders', {
        method: 'POST',
        headers: jsonHeaders(),
        body: JSON.stringify({ sku: 'widget-1', quantity: 50 }),
      });
      assert.equal(refused.status, 409);
      assert.equal(((await refused.json()) as { type: string }).type, '/problems/out-of-stock');
      assert.equal((await svc.fetch('/api/v1/orders/00000000-0000-4000-8000-000000000000')).status, 404);
      assert.equal((await svc.fetch('/api/v1/orders/not-a-uuid')).status, 400);
      const invalid = await svc.fetch('/api/v1/orders', {
        method: 'POST',
        headers: jsonHeaders(),
        body: JSON.stringify({ sku: '', quantity: 0 }),
      });
      assert.equal(invalid.status, 400);

      // Every response above was checked against the document built from the same list.
      for (const seen of [
        'createOrder 201',
        'createOrder 409',
        'createOrder 400',
        'getOrder 200',
        'getOrder 404',
      ])
        assert.ok(svc.contract.seen.has(seen), `no ${seen} response was checked`);

      // The RED series of the new routes, by route template.
      const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
      const count = (method: string, route: string, status: number) =>
        metricValue(
          metrics,
          `http_server_request_duration_seconds_count{http_request_method="${method}",http_route="${route}",http_response_status_code="${status}"}`,
        );
      assert.equal(count('POST', '/api/v1/orders', 201), 1, metrics.slice(0, 2000));
      assert.equal(count('POST', '/api/v1/orders', 409), 1);
      assert.equal(count('GET', '/api/v1/orders/:id', 200), 1);
      assert.match(
        metrics,
        new RegExp(
          `db_client_operation_duration_seconds_count\\{db_system_name="${backend}",db_operation_name="INSERT",db_collection_name="orders"`,
        ),
      );

      await svc.stop();
      assert.deepEqual(await store.applied(), [
        'items/0001-create',
        'items/0002-by-creation',
        'orders/0001-create',
      ]);
    });

    test('when a migration fails halfway, then it is rolled back and the start is refused with one line', async (t) => {
      const store = await open(t);
      const broken: Component = {
        ...orders,
        migrations: {
          sqlite: [
            { name: 'orders/0001-create', sql: 'CREATE TABLE orders (id TEXT); CREATE TABLE broken (' },
          ],
          postgresql: [
            { name: 'orders/0001-create', sql: 'CREATE TABLE orders (id text); CREATE TABLE broken (' },
          ],
        },
      };
      const logs = new LogCapture();
      const components = [...COMPONENTS, broken];
      const config = loadConfig(
        { NODE_ENV: 'test', LOG_LEVEL: 'info', ...NO_STOCK, ...store.env },
        components,
      );
      await assert.rejects(
        createDependencies(config, { logDestination: logs.stream, components }),
        StartupRefused,
      );
      const refusals = logs.lines.filter((l) => l.msg === 'database migration refused');
      assert.equal(refusals.length, 1);
      assert.equal(refusals[0]?.level, 'fatal');
      assert.equal(refusals[0]?.reason, 'migration failed');
      assert.equal(refusals[0]?.migration, 'orders/0001-create');
      // The items migrations before it stay; nothing of the failed one does.
      assert.equal(await store.hasTable('orders'), false, 'the first statement was rolled back');
      assert.deepEqual(await store.applied(), ['items/0001-create', 'items/0002-by-creation']);
    });

    test('when a database has a migration the code no longer has, then the start is refused with one line', async (t) => {
      const store = await open(t);
      const first = await startTestService(t, { ...store.env, ...NO_STOCK }, { components: WITH_ORDERS });
      await first.stop();
      const logs = new LogCapture();
      const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', ...store.env });
      await assert.rejects(createDependencies(config, { logDestination: logs.stream }), StartupRefused);
      const refusals = logs.lines.filter((l) => l.level === 'fatal');
      assert.equal(refusals.length, 1);
      assert.equal(refusals[0]?.reason, 'applied migration missing from the code');
      assert.equal(refusals[0]?.migration, 'orders/0001-create');
    });

    test('when two migrations share a name, then the process writes one log line and exits 1, having migrated nothing', async (t) => {
      const store = await open(t);
      const child = spawnRaw(
        {
          NODE_ENV: 'test',
          LOG_LEVEL: 'info',
          PORT: '0',
          METRICS_PORT: '0',
          ORDERS_DUPLICATE_MIGRATION: '1',
          ...NO_STOCK,
          ...store.env,
        },
        { entry: ENTRY },
      );
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
      });
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString('utf8');
      });
      const [code] = await once(child, 'close');
      assert.equal(code, 1, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.equal(stderr, '', 'no stack trace');
      const lines = stdout.trim().split('\n');
      assert.equal(lines.length, 1, stdout);
      const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
      assert.equal(line.msg, 'database migration refused');
      assert.equal(line.reason, 'duplicate name');
      assert.equal(line.migration, 'orders/0001-create');
      assert.equal(line.backend, backend);
      // Refused before anything ran: not even the items tables.
      assert.equal(await store.hasTable('items'), false);
    });
  });
}

describe('orders component settings', () => {
  test("when its variable is not a URL, then the configuration is refused naming it with the service's own; unset, it has its default", () => {
    assert.throws(
      () => loadConfig({ NODE_ENV: 'test', PORT: 'x', ORDERS_STOCK_URL: 'not a url' }, WITH_ORDERS),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.some((p) => p.startsWith('PORT:')) &&
        err.problems.some((p) => p.startsWith('ORDERS_STOCK_URL:')),
    );
    assert.deepEqual(loadConfig({ NODE_ENV: 'test' }, WITH_ORDERS).componentSettings, {
      orders: { ORDERS_STOCK_URL: 'http://127.0.0.1:8081' },
    });
    assert.deepEqual(loadConfig({ NODE_ENV: 'test', ...NO_STOCK }, WITH_ORDERS).componentSettings, {
      orders: NO_STOCK,
    });
    // The service's own list does not know the variable.
    assert.deepEqual(loadConfig({ NODE_ENV: 'test' }).componentSettings, {});
  });
});

describe('orders component in the OpenAPI document', () => {
  test('when the document is built from the list with the fixture, then it has its operations, schema and problem types', () => {
    const doc = openApiDocument(WITH_ORDERS) as {
      paths: Record<string, Record<string, { operationId: string }>>;
      components: { schemas: Record<string, { properties?: { type?: { enum?: string[] } } }> };
    };
    assert.equal(doc.paths['/api/v1/orders']?.post?.operationId, 'createOrder');
    assert.equal(doc.paths['/api/v1/orders/{id}']?.get?.operationId, 'getOrder');
    assert.ok(doc.components.schemas.Order);
    // The problem types its code sends are in the Problem schema, found by reading its folder.
    const inCode = problemTypesInCode([orders.dir]);
    assert.deepEqual(inCode, [outOfStock.type]);
    const listed = doc.components.schemas.Problem?.properties?.type?.enum ?? [];
    for (const t of inCode) assert.ok(listed.includes(t), `${t} missing from the Problem schema`);
    // Two components on the same paths cannot both be described.
    assert.throws(() => openApiDocument([...WITH_ORDERS, orders]), /declared twice/);
    // The service's own document does not have it.
    assert.equal((openApiDocument() as typeof doc).paths['/api/v1/orders'], undefined);
  });
});

describe('orders component in a traced process', () => {
  test('when an order is created, then the server span, the fetch() client span and the traceparent the stock service got share one trace, and the outgoing call is measured', async (t) => {
    const stock = await startStock(t);
    const { svc, otlp } = await startTracedService(t, {
      entry: ENTRY,
      env: { ORDERS_STOCK_URL: stock.url },
    });
    const res = await fetch(`${svc.url}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer process-api-token-0123456789abcdef',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ sku: 'traced', quantity: 1 }),
    });
    assert.equal(res.status, 201, await res.clone().text());

    const server = await otlp.waitForSpan(
      (s) => s.kind === 2 && s.attributes['http.route'] === '/api/v1/orders',
    );
    const traceparent = String(stock.received.at(-1)?.traceparent ?? '');
    assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/, 'the stock service got a traceparent');
    const [, traceId, parentId] = traceparent.split('-');
    assert.equal(traceId, server.traceId);
    const client = await otlp.waitForSpan(
      (s) => s.kind === 3 && s.traceId === server.traceId && s.spanId === parentId,
    );
    assert.equal(client.parentSpanId, server.spanId, 'the client span is a child of the server span');
    assert.equal(client.attributes['http.request.method'], 'POST');

    const metrics = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
    const series = metrics
      .split('\n')
      .filter((l) => l.startsWith('http_client_request_duration_seconds_count{'));
    const port = new URL(stock.url).port;
    assert.ok(
      series.some(
        (l) =>
          l.includes('http_request_method="POST"') &&
          l.includes('server_address="127.0.0.1"') &&
          l.includes('http_response_status_code="201"'),
      ),
      `no outgoing series for the stock call (port ${port}):\n${series.join('\n')}`,
    );
    assert.equal(await svc.stop(), 0);
  });
});
