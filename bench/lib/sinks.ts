// Local stand-ins for an OTLP collector and a Sentry DSN: accept everything, count what arrived.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Sink {
  readonly url: string;
  readonly port: number;
  /** Requests and bytes received, by path. */
  readonly received: Map<string, { requests: number; bytes: number }>;
  total(pathPrefix?: string): { requests: number; bytes: number };
  reset(): void;
  close(): Promise<void>;
}

/**
 * Answers 200 to every POST after draining the body. An empty protobuf body is a valid OTLP
 * Export*ServiceResponse; `{}` is the JSON one, and Sentry's envelope endpoint accepts it too.
 */
export async function startSink(): Promise<Sink> {
  const received = new Map<string, { requests: number; bytes: number }>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    req.on('end', () => {
      const entry = received.get(path) ?? { requests: 0, bytes: 0 };
      entry.requests++;
      entry.bytes += bytes;
      received.set(path, entry);
      const proto = (req.headers['content-type'] ?? '').includes('protobuf');
      res.writeHead(200, { 'content-type': proto ? 'application/x-protobuf' : 'application/json' });
      res.end(proto ? '' : '{}');
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    total(prefix = '') {
      let requests = 0;
      let bytes = 0;
      for (const [p, e] of received)
        if (p.startsWith(prefix)) {
          requests += e.requests;
          bytes += e.bytes;
        }
      return { requests, bytes };
    },
    reset: () => received.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
