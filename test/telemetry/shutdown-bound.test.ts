// Telemetry shutdown is bounded by its timeout: a collector that never answers cannot hold the
// process past SHUTDOWN_TIMEOUT_MS.
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { startServiceProcess } from '../support/service-process.ts';

test('when the collector accepts connections but never answers, then SIGTERM still ends the process within the shutdown timeout', async (t) => {
  const sockets: Socket[] = [];
  const blackHole = createServer((s) => {
    sockets.push(s);
  });
  blackHole.listen(0, '127.0.0.1');
  await once(blackHole, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    blackHole.close();
  });
  const { port } = blackHole.address() as { port: number };
  const svc = await startServiceProcess(t, {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    SHUTDOWN_TIMEOUT_MS: '1000',
  });
  assert.equal((await fetch(`${svc.url}/api/v1/items`)).status, 200);
  const started = Date.now();
  const code = await svc.stop();
  const took = Date.now() - started;
  assert.equal(code, 0);
  assert.ok(took < 3000, `took ${took} ms`);
  assert.ok(sockets.length > 0, 'the export was attempted');
});
