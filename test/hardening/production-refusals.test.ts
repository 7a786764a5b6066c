// Production refuses to start with unsafe settings, naming each one in a readable message.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { collectOutput } from '../support/process.ts';
import { spawnRaw } from '../support/service-process.ts';

const SAFE = {
  NODE_ENV: 'production',
  API_TOKENS: 'prod-token',
  ADMIN_TOKEN: 'a'.repeat(40),
  REDIS_URL: 'redis://127.0.0.1:1',
  CORS_ORIGINS: 'https://app.example.com',
  PORT: '0',
  METRICS_PORT: '0',
  DATABASE_PATH: ':memory:',
};

async function refusal(env: Record<string, string>): Promise<string> {
  const child = spawnRaw(env);
  const output = collectOutput(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await output.closed;
  clearTimeout(timer);
  const stderr = output.stderr();
  assert.equal(code, 1, `exit code; stderr:\n${stderr}`);
  assert.match(stderr, /^Refusing to start: invalid configuration:/);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace, just the reasons');
  return stderr;
}

describe('production refusals', { concurrency: 2 }, () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'CORS_ORIGINS contains *',
      { CORS_ORIGINS: 'https://app.example.com,*' },
      /CORS_ORIGINS: "\*" is not allowed in production/,
    ],
    ['ADMIN_TOKEN is missing', { ADMIN_TOKEN: '' }, /ADMIN_TOKEN: required in production/],
    [
      'ADMIN_TOKEN is short',
      { ADMIN_TOKEN: 'short' },
      /ADMIN_TOKEN: must be at least 32 characters in production/,
    ],
    ['API_TOKENS is empty', { API_TOKENS: '' }, /API_TOKENS: at least one token is required in production/],
    [
      'TRUST_PROXY is true',
      { TRUST_PROXY: 'true' },
      /TRUST_PROXY: must be a hop count or a list of proxy addresses\/CIDRs/,
    ],
    ['REDIS_URL is missing', { REDIS_URL: '' }, /REDIS_URL: required in production/],
    [
      'DATABASE_URL and DATABASE_PATH are both set',
      { DATABASE_URL: 'postgresql://items@127.0.0.1:1/items' },
      /DATABASE_PATH: set DATABASE_URL \(PostgreSQL\) or DATABASE_PATH \(SQLite\), not both, in production/,
    ],
    [
      'DATABASE_URL carries a password',
      { DATABASE_PATH: '', DATABASE_URL: 'postgresql://items:hunter2@127.0.0.1:1/items' },
      /DATABASE_URL: must not carry a password in production; put it in a file named by DATABASE_PASSWORD_FILE/,
    ],
    [
      'DATABASE_URL carries a password as a query parameter',
      { DATABASE_PATH: '', DATABASE_URL: 'postgresql://items@127.0.0.1:1/items?password=hunter2' },
      /DATABASE_URL: must not carry a password in production/,
    ],
  ];
  for (const [what, override, message] of cases)
    test(`when ${what}, then production refuses to start and says why`, async () => {
      assert.match(await refusal({ ...SAFE, ...override }), message);
    });
});
