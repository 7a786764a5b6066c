// A private PostgreSQL database per test on the machine's server (127.0.0.1:5432, trust auth), dropped
// after; and a TCP proxy of the test's own in front of it that can refuse, stall and come back.
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { freePort } from './process.ts';

export const PG_HOST = '127.0.0.1';
export const PG_PORT = 5432;
const ADMIN_URL = `postgresql://postgres@${PG_HOST}:${PG_PORT}/test`;

export interface TestDatabase {
  readonly name: string;
  /** postgresql://postgres@127.0.0.1:5432/<name> */
  readonly url: string;
  /** The same database through another port (a proxy's). */
  urlVia(port: number): string;
  /** One query on a short-lived connection of the test's own. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
}

/** One statement on the machine's `test` database (CREATE/DROP DATABASE), on a connection of its own. */
export async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** CREATE DATABASE t_<random> for this test; DROP ... WITH (FORCE) when it ends. */
export async function createTestDatabase(t: TestContext): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  t.after(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const urlVia = (port: number) => `postgresql://postgres@${PG_HOST}:${port}/${name}`;
  return {
    name,
    url: urlVia(PG_PORT),
    urlVia,
    async query(text, values = []) {
      const c = new pg.Client({ connectionString: urlVia(PG_PORT) });
      await c.connect();
      try {
        return (await c.query(text, values)).rows;
      } finally {
        await c.end();
      }
    },
  };
}

export interface TcpProxy {
  readonly port: number;
  /** Stop listening and cut every connection: the database looks unreachable (connection refused). */
  close(): Promise<void>;
  /** Listen again on the same port and forward as before. */
  open(): Promise<void>;
  /** Keep accepting and keep connections open, but forward nothing either way: a silent network. */
  stall(): void;
  /** Forward again; bytes held back while stalled are dropped with their connections. */
  resume(): void;
}

/** A TCP proxy to PostgreSQL on a free port; closed when the test ends. */
export async function startTcpProxy(
  t: TestContext,
  target = { host: PG_HOST, port: PG_PORT },
): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let stalled = false;
  let server: Server | undefined;

  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const onConnection = (client: Socket) => {
    const upstream = createConnection(target);
    sockets.add(client);
    sockets.add(upstream);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        if (!stalled) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  };
  const open = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer(onConnection);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const close = () =>
    new Promise<void>((resolve) => {
      cutAll();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await open();
  t.after(close);
  return {
    port,
    close,
    open,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      // A connection that lost bytes while stalled would be out of step with the server.
      cutAll();
    },
  };
}
