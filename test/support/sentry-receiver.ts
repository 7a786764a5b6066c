// A local Sentry ingest for tests: accepts envelopes for a DSN like http://public@127.0.0.1:PORT/1
// and parses them (a header line, then per item a header line and a payload of `length` bytes or
// up to the next newline). The envelope format is simple and no maintained parser ships server-side.
// @see https://develop.sentry.dev/sdk/data-model/envelopes/
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface EnvelopeItem {
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

export interface SentryReceiver {
  /** DSN pointing at this receiver. */
  readonly dsn: string;
  readonly envelopes: { header: Record<string, unknown>; items: EnvelopeItem[]; raw: string }[];
  /** Error events (item type "event") received so far. */
  events(): Record<string, unknown>[];
  waitForEvent(
    match: (e: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export function parseEnvelope(raw: Buffer): { header: Record<string, unknown>; items: EnvelopeItem[] } {
  let pos = 0;
  const line = () => {
    let end = raw.indexOf(0x0a, pos);
    if (end === -1) end = raw.length;
    const s = raw.subarray(pos, end).toString('utf8');
    pos = end + 1;
    return s;
  };
  const header = JSON.parse(line()) as Record<string, unknown>;
  const items: EnvelopeItem[] = [];
  while (pos < raw.length) {
    const h = line();
    if (h.trim() === '') continue;
    const itemHeader = JSON.parse(h) as { type: string; length?: number };
    let payload: string;
    if (typeof itemHeader.length === 'number') {
      payload = raw.subarray(pos, pos + itemHeader.length).toString('utf8');
      pos += itemHeader.length + 1;
    } else payload = line();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      parsed = { raw: payload };
    }
    items.push({ type: itemHeader.type, payload: parsed });
  }
  return { header, items };
}

export async function startSentryReceiver(): Promise<SentryReceiver> {
  const envelopes: SentryReceiver['envelopes'] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    if (req.method === 'POST' && /^\/api\/\d+\/envelope\/?/.test(req.url ?? '')) {
      envelopes.push({ ...parseEnvelope(body), raw: body.toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const events = () =>
    envelopes.flatMap((e) => e.items.filter((i) => i.type === 'event').map((i) => i.payload));
  return {
    dsn: `http://public@127.0.0.1:${port}/1`,
    envelopes,
    events,
    async waitForEvent(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events().find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching Sentry event within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
