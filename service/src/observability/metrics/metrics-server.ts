// Serves /metrics on its own listener so the public API port never exposes it. Classic Prometheus
// text by default; OpenMetrics (which carries exemplars) when the scraper's Accept asks for it.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';
import {
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  render,
  wantsOpenMetrics,
} from './metrics-exposition.ts';

export async function startMetricsServer(
  metrics: Metrics,
  listen: { readonly host: string; readonly port: number },
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const openMetrics = wantsOpenMetrics(req.headers.accept);
    render(metrics.registry, openMetrics).then(
      (body) =>
        res
          .writeHead(200, {
            'content-type': openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
          })
          .end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  server.listen(listen.port, listen.host);
  await once(server, 'listening');
  return server;
}
