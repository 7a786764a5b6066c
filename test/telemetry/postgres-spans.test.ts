// PostgreSQL queries in the exported trace of a real process: client spans under the server span, with
// the same names and attributes as the SQLite ones, db.namespace the database name and no values inlined.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createTestDatabase } from '../support/postgres.ts';
import { API_TOKEN } from '../support/service-process.ts';
import { startTracedService } from '../support/traced-service.ts';

const CLIENT = 3;

test('when an item is created on PostgreSQL, then the query is an exported client span under the server span with the database conventions', async (t) => {
  const db = await createTestDatabase(t);
  const { svc, otlp } = await startTracedService(t, {
    env: { DATABASE_URL: db.url.replace('postgres@', 'postgres:pw-never-in-spans@') },
  });

  const name = `span-${randomBytes(4).toString('hex')}`;
  const traceId = randomBytes(16).toString('hex');
  const created = await fetch(`${svc.url}/api/v1/items`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      'content-type': 'application/json',
      traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
    },
    body: JSON.stringify({ name, quantity: 77 }),
  });
  assert.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };

  const server = await otlp.waitForSpan((s) => s.traceId === traceId && s.kind === 2);
  const insert = await otlp.waitForSpan(
    (s) => s.traceId === traceId && s.attributes['db.system.name'] === 'postgresql',
  );
  assert.equal(insert.parentSpanId, server.spanId);
  assert.equal(insert.kind, CLIENT);
  assert.equal(insert.name, 'INSERT items');
  assert.deepEqual(
    {
      namespace: insert.attributes['db.namespace'],
      operation: insert.attributes['db.operation.name'],
      collection: insert.attributes['db.collection.name'],
      summary: insert.attributes['db.query.summary'],
    },
    { namespace: db.name, operation: 'INSERT', collection: 'items', summary: 'INSERT items' },
  );
  const text = String(insert.attributes['db.query.text']);
  assert.match(text, /VALUES \(\$1, \$2, \$3, \$4, \$5\)/);
  for (const value of [name, id, '77']) assert.ok(!text.includes(value), `${value} inlined`);
  const everything = JSON.stringify(otlp.spans);
  assert.ok(!everything.includes('pw-never-in-spans'), 'no span carries the password');
  assert.ok(!everything.includes('127.0.0.1:5432'), 'no span carries the connection address');
});
