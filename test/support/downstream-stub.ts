// A local downstream service for tests of outgoing calls: records what each request carried
// (path, the calling client named in `x-client`, `traceparent`) and answers 503 on paths under
// /fail, 200 with a small JSON body otherwise.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCall {
  readonly path: string;
  readonly client: string | undefined;
  readonly traceparent: string | undefined;
}

export interface DownstreamStub {
  /** Origin, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly calls: ReceivedCall[];
  close(): Promise<void>;
}

export async function startDownstreamStub(): Promise<DownstreamStub> {
  const calls: ReceivedCall[] = [];
  const server = createServer((req, res) => {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    };
    calls.push({ path: req.url ?? '', client: header('x-client'), traceparent: header('traceparent') });
    req.resume();
    const failing = (req.url ?? '').startsWith('/fail');
    res.writeHead(failing ? 503 : 200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
