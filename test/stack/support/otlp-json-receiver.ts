// A local OTLP/HTTP receiver (JSON encoding) that keeps the trace ids of the spans it is sent.
// Stand-in until the shared receiver of test/support lands; the service exports to it with
// OTEL_EXPORTER_OTLP_PROTOCOL=http/json.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

interface OtlpTraces {
  resourceSpans?: { scopeSpans?: { spans?: { traceId?: string; name?: string }[] }[] }[];
}

export interface OtlpReceiver {
  readonly url: string;
  readonly traceIds: Set<string>;
  readonly spanCount: () => number;
}

export async function startOtlpReceiver(t: TestContext): Promise<OtlpReceiver> {
  const traceIds = new Set<string>();
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as OtlpTraces;
        for (const rs of body.resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? []) {
              spans++;
              if (s.traceId) traceIds.add(s.traceId.toLowerCase());
            }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, traceIds, spanCount: () => spans };
}
