// README "Adding a resource", followed on a clone: the orders fixture becomes service/src/orders/ with
// its own test beside it, one line joins the component list, `npm run openapi` regenerates the
// document; then its test runs on both backends, the OpenAPI tests pass, and nothing else changed.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

// The component's own test, as an adopter writes it: the service's list (now with orders), both backends.
const ORDERS_TEST = `import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { BACKENDS, jsonHeaders, startTestService } from '../../test/helpers.ts';

for (const [backend, env] of Object.entries(BACKENDS))
  describe(\`orders on \${backend}\`, () => {
    test('when an unknown order is asked for, then 404; a bad body, then 400', async (t) => {
      const svc = await startTestService(t, await env(t));
      assert.equal((await svc.fetch('/api/v1/orders/00000000-0000-4000-8000-000000000000')).status, 404);
      const bad = await svc.fetch('/api/v1/orders', { method: 'POST', headers: jsonHeaders(), body: '{}' });
      assert.equal(bad.status, 400);
    });
  });
`;

test('when a component is added as the README says, then one listed file changes besides its folder and the regenerated document, and its tests pass on both backends', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'add-component-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  git(ROOT, 'clone', '--quiet', ROOT, dir);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'tools', 'node', 'node_modules'), join(dir, 'tools', 'node', 'node_modules'));
  // Same dependencies: keep scripts/node.sh from reinstalling into the shared node_modules.
  utimesSync(join(dir, 'package-lock.json'), new Date(0), new Date(0));

  // 1. The folder: the fixture's files, importing the platform from where a component in src does.
  const from = join(ROOT, 'test', 'fixtures', 'components', 'orders');
  const to = join(dir, 'service', 'src', 'orders');
  mkdirSync(to);
  for (const file of readdirSync(from))
    writeFileSync(
      join(to, file),
      readFileSync(join(from, file), 'utf8').replaceAll("'../../../../service/src/", "'../"),
    );
  writeFileSync(join(to, 'orders.test.ts'), ORDERS_TEST);
  // 2. The one line (and its import) in the list.
  const list = join(dir, 'service', 'src', 'components.ts');
  writeFileSync(
    list,
    readFileSync(list, 'utf8')
      .replace(
        "import { items } from './items/component.ts';",
        (m) => `${m}\nimport { orders } from './orders/component.ts';`,
      )
      .replace('[items]', '[items, orders]'),
  );
  // 3. What is generated.
  const npm = (...args: string[]) =>
    spawnSync('npm', ['run', '--silent', ...args], { cwd: dir, encoding: 'utf8' });
  const generated = npm('openapi');
  assert.equal(generated.status, 0, generated.stderr);

  const changed = git(dir, 'status', '--porcelain', '--untracked-files=all')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.slice(3))
    // The shared node_modules links are the clone's, not the adopter's.
    .filter((f) => !f.startsWith('service/src/orders/') && !f.endsWith('node_modules'));
  assert.deepEqual(changed.sort(), ['docs/openapi.json', 'service/src/components.ts']);
  assert.match(readFileSync(join(dir, 'docs', 'openapi.json'), 'utf8'), /"createOrder"/);

  // The adopter formats their folder (npm run format); then the whole project lints clean.
  const biome = (...args: string[]) =>
    spawnSync(join(dir, 'node_modules', '.bin', 'biome'), args, { cwd: dir, encoding: 'utf8' });
  biome('check', '--write', 'service/src/orders');
  const lint = biome('check', '.');
  assert.equal(lint.status, 0, `${lint.stdout}${lint.stderr}`);
  // Its own test, found where npm test looks, and the document's tests (in step, problem types, contract).
  const run = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-reporter=tap',
      '--test-timeout=120000',
      'service/src/**/*.test.ts',
      'service/test/openapi.test.ts',
    ],
    { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } },
  );
  assert.equal(run.status, 0, `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  assert.match(run.stdout, /# fail 0/);
  assert.match(run.stdout, /orders on postgresql/);
});
