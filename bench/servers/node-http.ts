// node:http with no framework: the ceiling of one core, and proof the load generator is not the limit.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, exitOnSignal, HELLO_BODY, HELLO_PATH } from './common.ts';

const body = JSON.stringify(HELLO_BODY);
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === HELLO_PATH) {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
    return;
  }
  res.writeHead(404).end();
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
announceReady({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
exitOnSignal(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);
