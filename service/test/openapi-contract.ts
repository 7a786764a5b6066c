// Checks a response against the OpenAPI document (service/src/openapi/document.ts): its status is documented
// for the operation, required headers are present, headers and body match their schemas. The test
// helpers run it on every response the component tests receive, so the document cannot drift from
// what the service does.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Component } from '../src/component/define-component.ts';
import { COMPONENTS } from '../src/components.ts';
import { platformProblemTypes, problemTitle } from '../src/errors/problem-types.ts';
import { openApiDocument } from '../src/openapi/document.ts';

type Obj = Record<string, unknown>;
interface ResponseSpec {
  readonly headers?: Record<string, Obj>;
  readonly content?: Record<string, { schema: Obj }>;
}

export interface Contract {
  /**
   * Asserts that `res` (a clone: its body is read here) is what the document promises for `method`
   * on `url`. Requests that match no documented path must be problem+json (a 404).
   */
  assertDocumented(method: string, url: string, res: Response): Promise<void>;
  /** What was checked, for the report of coverage (operationId and status). */
  readonly seen: Set<string>;
}

/** The contract of the document the components give (the service's own list by default). */
export function createContract(components: readonly Component[] = COMPONENTS): Contract {
  const doc = openApiDocument(components) as { paths: Record<string, Record<string, Obj>>; components: Obj };
  const DOC_ID = 'openapi';
  // strictSchema off: the document is added whole (paths, info, ...), and only its schemas are compiled.
  const ajv = new Ajv2020({ allErrors: true, strictSchema: false });
  addFormats.default(ajv);
  ajv.addSchema(doc, DOC_ID);

  const pointer = (...parts: string[]) =>
    `${DOC_ID}#/${parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
  const validators = new Map<string, ValidateFunction>();
  function validator(ref: string): ValidateFunction {
    let v = validators.get(ref);
    if (!v) {
      v = ajv.compile({ $ref: ref });
      validators.set(ref, v);
    }
    return v;
  }

  const routes = Object.keys(doc.paths).map((template) => ({
    template,
    regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));

  const resolve = (o: Obj): Obj => {
    const ref = o.$ref;
    if (typeof ref !== 'string') return o;
    let at: unknown = doc;
    for (const part of ref.slice(2).split('/'))
      at = (at as Obj)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    return at as Obj;
  };

  /** What the contract test found, for the report of coverage (operationId and status). */
  const seen = new Set<string>();

  async function assertDocumented(method: string, url: string, res: Response): Promise<void> {
    // CORS preflights are answered by the CORS layer on any path; they are not API operations.
    if (method === 'OPTIONS') return;
    let path = new URL(url).pathname;
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const route = routes.find((r) => r.regex.test(path));
    const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
    const op = route ? doc.paths[route.template]?.[verb] : undefined;
    const what = `${method} ${path} -> ${res.status}`;
    const text = await res.text();
    if (!route || !op) {
      // No such operation: the service must say so as a problem (404, or an earlier client error).
      assert.ok(res.status >= 400, `${what}: an undocumented request succeeded`);
      assertBody(what, text, res, pointer('components', 'schemas', 'Problem'));
      return;
    }
    const responses = op.responses as Record<string, ResponseSpec>;
    const key = String(res.status) in responses ? String(res.status) : undefined;
    assert.ok(key, `${what}: status ${res.status} is not documented for ${op.operationId}`);
    seen.add(`${op.operationId} ${key}`);
    const spec = responses[key] as ResponseSpec;

    for (const [name, ref] of Object.entries(spec.headers ?? {})) {
      const h = resolve(ref) as { required?: boolean };
      const value = res.headers.get(name);
      if (value === null) {
        assert.ok(!h.required, `${what}: required header ${name} is missing`);
        continue;
      }
      const v = validator(
        typeof ref.$ref === 'string'
          ? `${DOC_ID}${ref.$ref}/schema`
          : pointer('paths', route.template, verb, 'responses', key, 'headers', name, 'schema'),
      );
      assert.ok(v(value), `${what}: header ${name}: ${value} ${ajv.errorsText(v.errors)}`);
    }

    const content = spec.content;
    if (!content || method === 'HEAD') {
      assert.equal(text, '', `${what}: a body where the document has none`);
      return;
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    const media = Object.keys(content).find((m) => m.split(';')[0]?.trim() === type);
    assert.ok(media, `${what}: content type ${type} is not documented (${Object.keys(content).join(', ')})`);
    assertBody(
      what,
      text,
      res,
      pointer('paths', route.template, verb, 'responses', key, 'content', media, 'schema'),
    );
  }

  function assertBody(what: string, text: string, res: Response, schemaRef: string): void {
    const type = res.headers.get('content-type') ?? '';
    if (!/json/.test(type)) return;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      assert.fail(`${what}: body is not JSON: ${text.slice(0, 200)}`);
    }
    const v = validator(schemaRef);
    assert.ok(
      v(body),
      `${what}: body does not match the document: ${ajv.errorsText(v.errors)}\n${text.slice(0, 500)}`,
    );
    assertCatalogueTitle(what, body);
  }

  // A platform problem carries the catalogue's title (errors/problem-types.ts), whoever sends it.
  function assertCatalogueTitle(what: string, body: unknown): void {
    const { type, title, status } = (body ?? {}) as { type?: unknown; title?: unknown; status?: unknown };
    if (typeof type !== 'string' || typeof status !== 'number') return;
    const slug = type === 'about:blank' ? type : type.slice('/problems/'.length);
    if (!platformProblemTypes().some((p) => p.slug === slug)) return;
    assert.equal(title, problemTitle(slug === 'about:blank' ? undefined : slug, status), `${what}: title`);
  }
  return { assertDocumented, seen };
}

/** The contract of the service's own components, shared by every component test. */
export const serviceContract = createContract();
export const { assertDocumented, seen } = serviceContract;

/**
 * Problem types the code in `dirs` constructs: `type: '<name>'` next to an HttpProblem, or a full
 * /problems/ URI. The service's own dir is service/src, plus each component's folder (Component.dir).
 */
export function problemTypesInCode(dirs: readonly string[]): string[] {
  const code = dirs
    .flatMap(readdirTs)
    .filter((f) => !f.endsWith('/openapi/builder.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .filter((src) => src.includes('HttpProblem') || src.includes('/problems/'));
  const found = code.flatMap((src) => [
    ...[...src.matchAll(/(?<![\w.])type: '([a-z-]+)'/g)].map((m) => `/problems/${m[1]}`),
    ...[...src.matchAll(/'(\/problems\/[a-z-]+)'/g)].map((m) => m[1] as string),
  ]);
  return [...new Set(found)].filter((t) => t !== '/problems/default');
}

function readdirTs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? readdirTs(p) : name.endsWith('.ts') ? [p] : [];
  });
}
