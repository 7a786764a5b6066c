// Config: defaults per environment, and refusals that list every bad variable.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseEnv } from 'node:util';
import { ConfigError, envSchema, loadConfig } from '../src/config.ts';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a ConfigError');
};

describe('config', () => {
  test('when nothing is set, then development defaults apply', () => {
    const c = loadConfig({});
    assert.equal(c.env, 'development');
    assert.equal(c.port, 3000);
    assert.equal(c.metrics.port, 9464);
    assert.deepEqual(c.database, { kind: 'sqlite', path: './data/items.db' });
    assert.equal(c.redisUrl, undefined);
    assert.ok(Object.isFrozen(c));
  });

  test('when several variables are bad, then every one is listed', () => {
    const problems = problemsOf({
      PORT: 'abc',
      METRICS_PORT: '70000',
      LOG_LEVEL: 'loud',
      NODE_ENV: 'staging',
    });
    for (const key of ['PORT', 'METRICS_PORT', 'LOG_LEVEL', 'NODE_ENV'])
      assert.ok(
        problems.some((p) => p.startsWith(`${key}:`)),
        `${key} missing from ${problems.join('; ')}`,
      );
  });

  test('when TRUST_PROXY is true, then the service refuses to start in any environment', () => {
    assert.ok(problemsOf({ TRUST_PROXY: 'true' }).some((p) => p.startsWith('TRUST_PROXY:')));
    assert.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }).trustProxy, [
      '10.0.0.1',
      '10.1.0.0/16',
    ]);
  });

  test('when production lacks its safeguards, then it refuses with each one named', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      CORS_ORIGINS: 'https://a.example.com,*',
      ADMIN_TOKEN: 'short',
    });
    for (const key of ['CORS_ORIGINS', 'ADMIN_TOKEN', 'API_TOKENS', 'REDIS_URL'])
      assert.ok(
        problems.some((p) => p.startsWith(`${key}:`)),
        `${key} missing from ${problems.join('; ')}`,
      );
  });

  test('when production is configured safely, then it loads with production defaults', () => {
    const c = loadConfig({
      NODE_ENV: 'production',
      API_TOKENS: 'a,b',
      ADMIN_TOKEN: 'x'.repeat(32),
      REDIS_URL: 'redis://redis:6379',
      CORS_ORIGINS: 'https://app.example.com',
    });
    assert.equal(c.isProduction, true);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.debugRoutes, false);
    assert.deepEqual(c.auth.apiTokens, ['a', 'b']);
  });

  test('when a CORS origin is not an origin, then it is refused', () => {
    assert.ok(problemsOf({ CORS_ORIGINS: 'app.example.com' }).some((p) => p.startsWith('CORS_ORIGINS:')));
  });

  test('when the HTTP headers timeout exceeds the request timeout, then it is refused', () => {
    assert.ok(
      problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }).some((p) =>
        p.startsWith('HTTP_HEADERS_TIMEOUT_MS:'),
      ),
    );
    assert.deepEqual(loadConfig({}).http, {
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      maxHeaderBytes: 16_384,
    });
  });

  test('when every variable is set to an empty value, then each means unset and the defaults apply', () => {
    const empty = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, '']));
    const blank = Object.fromEntries(Object.keys(envSchema.shape).map((k) => [k, '  ']));
    const defaults = loadConfig({});
    assert.deepEqual(loadConfig({ ...empty, OTEL_SERVICE_NAME: '' }), defaults);
    assert.deepEqual(loadConfig(blank), defaults);
  });

  test('when .env.example is loaded as a .env file, then the configuration loads', () => {
    const example = parseEnv(readFileSync(join(import.meta.dirname, '..', '..', '.env.example'), 'utf8'));
    assert.ok(
      Object.values(example).includes(''),
      '.env.example has no empty values: the test proves nothing',
    );
    const c = loadConfig(example);
    assert.equal(c.env, 'development');
    assert.equal(c.auth.adminToken, undefined);
    assert.deepEqual(c.auth.apiTokens, []);
  });
});

describe('config: the item store', () => {
  test('when DATABASE_URL is unset, then SQLite at DATABASE_PATH is the store', () => {
    assert.deepEqual(loadConfig({ DATABASE_PATH: '/tmp/x.db' }).database, {
      kind: 'sqlite',
      path: '/tmp/x.db',
    });
    assert.deepEqual(loadConfig({ NODE_ENV: 'test' }).database, { kind: 'sqlite', path: ':memory:' });
  });

  test('when DATABASE_URL is set outside production, then PostgreSQL wins over DATABASE_PATH with the documented defaults', () => {
    const db = loadConfig({
      DATABASE_URL: 'postgres://app:s%40cret@db:5432/items',
      DATABASE_PATH: '/tmp/x.db',
    }).database;
    assert.equal(db.kind, 'postgresql');
    if (db.kind !== 'postgresql') return;
    assert.deepEqual(
      { url: db.url, poolMax: db.poolMax, connect: db.connectTimeoutMs, statement: db.statementTimeoutMs },
      { url: 'postgres://app@db:5432/items', poolMax: 10, connect: 2000, statement: 2000 },
    );
    assert.equal(db.urlPassword, 's@cret');
    assert.ok(!JSON.stringify(db).includes('cret'), 'the password is not serialised');
    const query = loadConfig({
      DATABASE_URL: 'postgres://app@db/items?password=q%20pw&sslmode=require',
    }).database;
    assert.equal(query.kind === 'postgresql' && query.urlPassword, 'q pw');
    assert.equal(query.kind === 'postgresql' && query.url, 'postgres://app@db/items?sslmode=require');
  });

  test('when DATABASE_URL or its companions are wrong, then each is named', () => {
    assert.ok(problemsOf({ DATABASE_URL: 'mysql://db/items' }).some((p) => p.startsWith('DATABASE_URL:')));
    assert.ok(problemsOf({ DATABASE_POOL_MAX: '0' }).some((p) => p.startsWith('DATABASE_POOL_MAX:')));
    assert.ok(
      problemsOf({ DATABASE_PASSWORD_FILE: '/nonexistent/pw' }).some((p) =>
        p.startsWith('DATABASE_PASSWORD_FILE:'),
      ),
    );
    assert.ok(
      problemsOf({ DATABASE_URL: 'postgresql://a@db/x', DATABASE_PASSWORD_FILE: '/nonexistent/pw' }).some(
        (p) => p.includes('cannot be read'),
      ),
    );
  });
});
