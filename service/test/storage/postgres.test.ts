// storage/postgres/ on a real server: concurrent migrations, the readiness ping, and how failures map to HTTP.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestDatabase } from '../../../test/support/postgres.ts';
import { postgresMigrations } from '../../src/items/migrations/postgres.ts';
import { ClosingClient, databaseName } from '../../src/storage/postgres/connection.ts';
import { DatabaseUnavailableError, databaseProblem } from '../../src/storage/postgres/failures.ts';
import { openTestPostgres } from '../helpers.ts';

const open = (t: import('node:test').TestContext, url: string, env: Record<string, string> = {}) =>
  openTestPostgres(t, url, { env, applicationName: 'postgres-test' });

// A stand-in server that asks for a cleartext password and records it: the machine's PostgreSQL
// trusts loopback, so it would accept any password and prove nothing.
async function startPasswordRecorder(t: import('node:test').TestContext) {
  const received: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    let startup = true;
    // No encoding is set on the socket, so every chunk is a Buffer (@types/node 26 types it string | Buffer).
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (startup && buf.length >= 4 && buf.length >= buf.readInt32BE(0)) {
        buf = buf.subarray(buf.readInt32BE(0));
        startup = false;
        const ask = Buffer.alloc(9);
        ask.write('R', 0);
        ask.writeInt32BE(8, 1);
        ask.writeInt32BE(3, 5); // AuthenticationCleartextPassword
        socket.write(ask);
      }
      if (!startup && buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
        received.push(buf.subarray(5, buf.readInt32BE(1)).toString('utf8').replace(/\0$/, ''));
        socket.destroy();
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { received, port, sockets };
}

describe('postgres platform', () => {
  test('when three pools migrate the same empty database at once, then each migration is applied by exactly one', async (t) => {
    const db = await createTestDatabase(t);
    const pools = [1, 2, 3].map(() => open(t, db.url));
    await Promise.all(pools.map((p) => p.pg.start(postgresMigrations)));
    const rows = await db.query<{ name: string }>('SELECT name FROM applied_migrations ORDER BY name');
    assert.deepEqual(
      rows.map((r) => r.name),
      postgresMigrations.map((m) => m.name),
    );
    const applied = pools.map(
      (p) =>
        (p.logs.lines.find((l) => l.msg === 'database migrations up to date')?.applied ?? []) as string[],
    );
    assert.deepEqual(applied.map((a) => a.length).sort(), [0, 0, postgresMigrations.length]);
    for (const p of pools) assert.equal(p.pg.migrated, true);
  });

  test('when a pool starts on a port nothing listens on, then start-up goes on and ping and queries fail as unavailable (503)', async (t) => {
    const { pg, logs } = open(t, 'postgresql://postgres@127.0.0.1:1/nothing', {
      DATABASE_CONNECT_TIMEOUT_MS: '300',
    });
    await pg.start(postgresMigrations);
    assert.equal(pg.migrated, false);
    assert.ok(
      logs.lines.some(
        (l) => l.msg === 'database unreachable at start-up, migrations retried in the background',
      ),
    );
    await assert.rejects(pg.ping(200), (err) => databaseProblem(err)?.status === 503);
    await assert.rejects(
      pg.query({ operation: 'SELECT', collection: 'items', text: 'SELECT 1' }, []),
      (err) => databaseProblem(err)?.status === 503,
    );
  });

  test('when a statement runs past DATABASE_STATEMENT_TIMEOUT_MS, then it fails as a 503 with Retry-After and is traced as an error', async (t) => {
    const db = await createTestDatabase(t);
    const { pg, metrics } = open(t, db.url, { DATABASE_STATEMENT_TIMEOUT_MS: '200' });
    await pg.start(postgresMigrations);
    const err = await pg
      .query({ operation: 'SELECT', collection: 'items', text: 'SELECT pg_sleep($1)' }, [2])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const problem = databaseProblem(err);
    assert.equal(problem?.status, 503);
    assert.equal(problem?.type, '/problems/dependency-unavailable');
    assert.equal(problem?.headers['Retry-After'], '5');
    const { values } = await metrics.dbOperationDuration.get();
    const failed = values.find(
      (v) => v.metricName === 'db_client_operation_duration_seconds_count' && v.labels.error_type !== '',
    );
    assert.ok(
      failed?.labels.error_type === '57014' || failed?.labels.error_type === 'Error',
      `error_type ${failed?.labels.error_type}`,
    );
  });

  test('when a constraint is violated, then it maps to a 4xx, and an unknown failure stays unmapped (500)', async (t) => {
    const db = await createTestDatabase(t);
    const { pg } = open(t, db.url);
    await pg.start(postgresMigrations);
    const insert = {
      operation: 'INSERT',
      collection: 'items',
      text: 'INSERT INTO items (id, name, quantity, created_at, updated_at) VALUES ($1, $2, $3, now(), now())',
    };
    const id = '4d1c1c36-4a39-4a8a-9d0e-0d5f5d1f2a10';
    await pg.query(insert, [id, 'a', 1]);
    const fail = (values: unknown[], spec = insert) =>
      pg.query(spec, values).then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.equal(databaseProblem(await fail([id, 'b', 1]))?.status, 409, 'unique violation');
    assert.equal(databaseProblem(await fail([crypto.randomUUID(), 'c', -1]))?.status, 409, 'check violation');
    assert.equal(
      databaseProblem(
        await fail([], { operation: 'SELECT', collection: 'nope', text: 'SELECT * FROM nope' }),
      ),
      undefined,
      'undefined table is a bug: 500',
    );
  });

  test('when DATABASE_PASSWORD_FILE names a file, then each new connection sends its content (without the trailing newline) as the password, and a URL password is sent outside production', async (t) => {
    const { received, port } = await startPasswordRecorder(t);
    const dir = mkdtempSync(join(tmpdir(), 'pg-password-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'password');
    writeFileSync(file, 'from-the-file\n');
    const { pg } = open(t, `postgresql://items@127.0.0.1:${port}/items`, {
      DATABASE_PASSWORD_FILE: file,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    await pg.start(postgresMigrations);
    assert.deepEqual(received, ['from-the-file']);
    // Rotated on disk: the next connection reads the new secret, no restart.
    writeFileSync(file, 'rotated');
    await pg.ping(500).catch(() => {});
    await pg.start(postgresMigrations).catch(() => {});
    assert.equal(received.at(-1), 'rotated');

    // Outside production the password may come in the URL; it reaches the server the same way.
    const fromUrl = open(t, `postgresql://items:from%40the-url@127.0.0.1:${port}/items`, {
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    await fromUrl.pg.start(postgresMigrations);
    assert.equal(received.at(-1), 'from@the-url');
  });

  test('when the password file disappears after start-up checks, then the database counts as unavailable (503), not a 500', async (t) => {
    const recorder = await startPasswordRecorder(t);
    const { port } = recorder;
    const dir = mkdtempSync(join(tmpdir(), 'pg-password-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'password');
    writeFileSync(file, 'present at start-up');
    const { pg, logs } = open(t, `postgresql://items@127.0.0.1:${port}/items`, {
      DATABASE_PASSWORD_FILE: file,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    rmSync(file);
    await pg.start(postgresMigrations);
    assert.equal(pg.migrated, false);
    assert.ok(
      logs.lines.some(
        (l) => l.msg === 'database unreachable at start-up, migrations retried in the background',
      ),
    );
    await assert.rejects(pg.ping(300), (err) => databaseProblem(err)?.status === 503);
    // The failed connection let go of its socket (else every retry would leak one).
    const until = Date.now() + 2_000;
    while ([...recorder.sockets].some((s) => !s.destroyed) && Date.now() < until) await sleep(20);
    assert.deepEqual([...recorder.sockets].filter((s) => !s.destroyed).length, 0);
  });

  test('when a pool connection fails on our side (no password to give), then its socket is closed, not left to the server', async (t) => {
    const recorder = await startPasswordRecorder(t);
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port: recorder.port,
      user: 'items',
      password: async () => {
        throw new DatabaseUnavailableError('DATABASE_PASSWORD_FILE cannot be read');
      },
      Client: ClosingClient as unknown as new () => pg.ClientBase,
    });
    t.after(() => pool.end());
    for (let i = 0; i < 3; i++) await assert.rejects(pool.query('SELECT 1'), DatabaseUnavailableError);
    const until = Date.now() + 2_000;
    while ([...recorder.sockets].some((s) => !s.destroyed) && Date.now() < until) await sleep(20);
    assert.equal(recorder.sockets.size, 3, 'three connection attempts reached the server');
    assert.equal([...recorder.sockets].filter((s) => !s.destroyed).length, 0, 'none left open');
  });

  test('when db.namespace is derived from a URL, then it is the database name only', () => {
    assert.equal(
      databaseName('postgresql://app:secret@db.internal:5432/items_prod?sslmode=require'),
      'items_prod',
    );
    assert.equal(databaseName('postgres://app@db.internal'), 'app');
  });
});
