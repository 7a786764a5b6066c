// Test helpers: start the real service on port 0 with test config, capture its log lines, close it after.
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { createTestDatabase } from '../../test/support/postgres.ts';
import type { AppOptions } from '../src/app.ts';
import type { Component } from '../src/component/define-component.ts';
import { loadConfig } from '../src/config.ts';
import { createDependencies } from '../src/dependencies.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createMetrics, type Metrics } from '../src/observability/metrics/metrics.ts';
import { type RunningService, startService } from '../src/server.ts';
import { createPostgres, type Postgres } from '../src/storage/postgres/postgres.ts';
import { type Contract, createContract, serviceContract } from './openapi-contract.ts';

export const API_TOKEN = 'test-api-token-0123456789abcdef';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123';

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });
export const jsonHeaders = (token = API_TOKEN) => ({ ...auth(token), 'content-type': 'application/json' });

/** Collects the JSON log lines the service writes. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        this.raw.push(line);
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
}

export interface TestService extends RunningService {
  readonly logs: LogCapture;
  /** The OpenAPI contract every response is checked against (its `seen` reports coverage). */
  readonly contract: Contract;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

export interface TestServiceOptions {
  /**
   * false: responses are not checked against the OpenAPI document. Only for an app that a test
   * takes apart on purpose (the benchmark's layer toggles); the document describes the whole app.
   */
  readonly checkContract?: boolean;
  /** createApp's options: the layers left out (the benchmark's layer toggles). */
  readonly app?: AppOptions;
  /** The components to run instead of service/src/components.ts (the service's own plus a fixture). */
  readonly components?: readonly Component[];
}

export async function startTestService(
  t: TestContext,
  env: Record<string, string> = {},
  options: TestServiceOptions = {},
): Promise<TestService> {
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      API_TOKENS: API_TOKEN,
      ADMIN_TOKEN,
      ...env,
    },
    options.components,
  );
  const logs = new LogCapture();
  const deps = await createDependencies(config, {
    logDestination: logs.stream,
    ...(options.components ? { components: options.components } : {}),
  });
  const svc = await startService(config, deps, options.app);
  t.after(() => svc.stop());
  const contract = options.components ? createContract(options.components) : serviceContract;
  return {
    ...svc,
    logs,
    contract,
    // Every response a component test receives is checked against the OpenAPI document.
    fetch: async (path, init) => {
      const res = await fetch(`${svc.url}${path}`, init);
      if (options.checkContract !== false)
        await contract.assertDocumented(init?.method ?? 'GET', `${svc.url}${path}`, res.clone());
      return res;
    },
  };
}

/**
 * The environment that puts the service on each backend: an in-memory SQLite database, and a fresh
 * PostgreSQL database dropped after the test. A component's tests loop over it to run on both.
 */
export const BACKENDS: Readonly<
  Record<'sqlite' | 'postgresql', (t: TestContext) => Promise<Record<string, string>>>
> = {
  sqlite: async () => ({ DATABASE_PATH: ':memory:' }),
  postgresql: async (t) => ({ DATABASE_URL: (await createTestDatabase(t)).url }),
};

export const buildItem = (overrides: Partial<{ name: string; quantity: number }> = {}) => ({
  name: 'widget',
  quantity: 3,
  ...overrides,
});

export async function createItem(svc: TestService, body: unknown = buildItem()) {
  const res = await svc.fetch('/api/v1/items', {
    method: 'POST',
    headers: jsonHeaders(),
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as {
    id: string;
    name: string;
    quantity: number;
    createdAt: string;
    updatedAt: string;
  };
}

export async function expectProblem(res: Response, status: number): Promise<Record<string, unknown>> {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.equal(typeof body.title, 'string');
  assert.equal(typeof body.type, 'string');
  return body;
}

/** A PostgreSQL pool on `url` as the service builds it, its logs captured; closed when the test ends. */
export function openTestPostgres(
  t: TestContext,
  url: string,
  opts: { env?: Record<string, string>; applicationName: string; logLevel?: 'info' | 'warn' },
): { pg: Postgres; logs: LogCapture; metrics: Metrics } {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, ...opts.env }).database;
  if (config.kind !== 'postgresql') throw new Error('expected a PostgreSQL config');
  const logs = new LogCapture();
  const metrics = createMetrics({ version: 'test', revision: 'test' });
  const logger = createLogger({
    level: opts.logLevel ?? 'info',
    serviceName: 't',
    environment: 'test',
    destination: logs.stream,
  });
  const pg = createPostgres({ config, metrics, logger, applicationName: opts.applicationName });
  t.after(() => pg.close());
  return { pg, logs, metrics };
}
