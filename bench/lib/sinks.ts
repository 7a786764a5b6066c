// Local stand-ins for an OTLP collector and a Sentry DSN: accept everything, count what arrived.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Counts the items of an OTLP protobuf export request without decoding it: spans sit at field path
 * 1 (resource_spans) → 2 (scope_spans) → 2 (spans), log records at 1 → 2 → 2 as well
 * (resource_logs → scope_logs → log_records). Only varints and lengths are read.
 */
export function countOtlpItems(
  buf: Buffer,
  path: readonly number[] = [1, 2, 2],
  start = 0,
  end = buf.length,
): number {
  let count = 0;
  let i = start;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  while (i < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const len = varint();
      if (field === path[0]) count += path.length === 1 ? 1 : countOtlpItems(buf, path.slice(1), i, i + len);
      i += len;
    } else return count; // groups are not used by OTLP
  }
  return count;
}

/** The same count for an OTLP/HTTP JSON body (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). */
export function countOtlpJsonItems(buf: Buffer): number {
  const body = JSON.parse(buf.toString('utf8')) as {
    resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[];
    resourceLogs?: { scopeLogs?: { logRecords?: unknown[] }[] }[];
  };
  let count = 0;
  for (const r of body.resourceSpans ?? []) for (const s of r.scopeSpans ?? []) count += s.spans?.length ?? 0;
  for (const r of body.resourceLogs ?? [])
    for (const s of r.scopeLogs ?? []) count += s.logRecords?.length ?? 0;
  return count;
}

export interface Sink {
  readonly url: string;
  readonly port: number;
  total(pathPrefix?: string): { requests: number; bytes: number; items: number };
  close(): Promise<void>;
}

/**
 * Answers 200 to every POST after draining the body. An empty protobuf body is a valid OTLP
 * Export*ServiceResponse; `{}` is the JSON one, and Sentry's envelope endpoint accepts it too.
 */
export async function startSink(): Promise<Sink> {
  const received = new Map<string, { requests: number; bytes: number; items: number }>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let bytes = 0;
    const chunks: Buffer[] = [];
    const proto = (req.headers['content-type'] ?? '').includes('protobuf');
    const otlp = path === '/v1/traces' || path === '/v1/logs';
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (otlp) chunks.push(c);
    });
    req.on('end', () => {
      const entry = received.get(path) ?? { requests: 0, bytes: 0, items: 0 };
      entry.requests++;
      entry.bytes += bytes;
      // Spans or log records received: with 100 % sampling, fewer than made means the exporter dropped some.
      if (otlp && req.headers['content-encoding'] === undefined) {
        const body = Buffer.concat(chunks);
        entry.items += proto ? countOtlpItems(body) : countOtlpJsonItems(body);
      }
      received.set(path, entry);
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
    total(prefix = '') {
      let requests = 0;
      let bytes = 0;
      let items = 0;
      for (const [p, e] of received)
        if (p.startsWith(prefix)) {
          requests += e.requests;
          bytes += e.bytes;
          items += e.items;
        }
      return { requests, bytes, items };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
