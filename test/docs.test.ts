// The documented environment stays true: every variable the code reads is in .env.example and the README table.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { envSchema } from '../service/src/config.ts';

const ROOT = join(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

// OTEL_* variables are read by the telemetry set-up (the SDK reads them by their standard names).
function otelVariablesReadByCode(): string[] {
  const src = read('service/src/telemetry/sdk.ts') + read('service/src/instrumentation.ts');
  return [...new Set(src.match(/\bOTEL_[A-Z_]*[A-Z]\b/g) ?? [])];
}

test('when the code reads an environment variable, then .env.example and the README table document it', () => {
  const example = new Set(
    read('.env.example')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0]),
  );
  const readmeTable = new Set([...read('README.md').matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]));
  const readByCode = [...Object.keys(envSchema.shape), ...otelVariablesReadByCode()];
  assert.ok(readByCode.length > 30, `found only ${readByCode.length} variables`);
  for (const name of readByCode) {
    assert.ok(example.has(name), `${name} is missing from .env.example`);
    assert.ok(readmeTable.has(name), `${name} is missing from the README environment table`);
  }
  for (const name of example)
    assert.ok(readmeTable.has(name), `${name} is in .env.example but not the README`);
});
