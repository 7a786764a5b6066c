// The process: config -> dependencies -> createApp -> listen; closes everything on SIGTERM/SIGINT.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createDependencies, type Dependencies } from './dependencies.ts';
import { startMetricsServer } from './platform/metrics-server.ts';
import { telemetryHandle } from './platform/telemetry-handle.ts';
import { checkInstrumentation } from './telemetry/self-check.ts';

export interface RunningService {
  readonly deps: Dependencies;
  readonly server: Server;
  readonly metricsServer: Server;
  readonly url: string;
  readonly metricsUrl: string;
  stop(): Promise<void>;
}

const urlOf = (server: Server) => {
  const { address, port } = server.address() as AddressInfo;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
};

export async function startService(config: Config, deps?: Dependencies): Promise<RunningService> {
  const d = deps ?? (await createDependencies(config));
  const app = createApp(d);
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const metricsServer = await startMetricsServer(d.metrics, config.metrics);

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      server.closeIdleConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => metricsServer.close(() => resolve())),
      ]);
      await d.close();
      // Telemetry last, so spans and errors of the drained requests still leave (issue 3).
      await telemetryHandle().shutdown(config.shutdown.timeoutMs);
    })();
    return stopping;
  };

  return { deps: d, server, metricsServer, url: urlOf(server), metricsUrl: urlOf(metricsServer), stop };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Refusing to start: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const svc = await startService(config);
  const log = svc.deps.logger;
  log.info({ url: svc.url, metricsUrl: svc.metricsUrl }, 'service listening');
  // Telemetry self-check (issue 3): express and http are loaded by now, so their hooks must have fired.
  checkInstrumentation(telemetryHandle(), log, svc.deps.metrics.instrumentationPatched);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log.info({ signal }, 'shutting down');
      svc.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.fatal({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

if (import.meta.main) await main();
