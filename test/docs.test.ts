// The documented environment stays true: every variable the code reads is in .env.example and docs/configuration.md.
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { knownEnvironmentVariables } from './support/known-env.ts';

const ROOT = join(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

test('when the code reads an environment variable, then .env.example and the configuration table document it', () => {
  const example = new Set(
    read('.env.example')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0]),
  );
  const table = new Set(
    [...read('docs/configuration.md').matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]),
  );
  const readByCode = knownEnvironmentVariables();
  assert.ok(readByCode.length > 30, `found only ${readByCode.length} variables`);
  for (const name of readByCode) {
    assert.ok(example.has(name), `${name} is missing from .env.example`);
    assert.ok(table.has(name), `${name} is missing from the environment table of docs/configuration.md`);
  }
  for (const name of example)
    assert.ok(table.has(name), `${name} is in .env.example but not docs/configuration.md`);
});

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
const anchors = (markdown: string) =>
  new Set(
    [...markdown.matchAll(/^#+ (.*)$/gm)].map((m) =>
      (m[1] ?? '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replaceAll(' ', '-'),
    ),
  );

test('when README.md or a file under docs/ links a file of the repository, then it exists (and so does the heading it names)', () => {
  const documents = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => join('docs', f)),
  ];
  let links = 0;
  for (const doc of documents)
    for (const [, target = ''] of read(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? doc : join(dirname(doc), path);
      assert.ok(existsSync(join(ROOT, file)), `${doc} links ${target}: ${file} does not exist`);
      if (anchor !== undefined)
        assert.ok(anchors(read(file)).has(anchor), `${doc} links ${target}: no such heading in ${file}`);
      links++;
    }
  assert.ok(links > 20, `found only ${links} links`);
});
