// The documented environment stays true: every variable the code reads is in .env.example and docs/configuration.md.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
