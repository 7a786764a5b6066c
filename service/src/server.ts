// The process: config -> dependencies -> createApp -> listen; graceful shutdown on SIGTERM/SIGINT.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AppOptions, createApp } from './app.ts';
import type { Component } from './component/define-component.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { createDependencies, type Dependencies } from './dependencies.ts';
import { listenFailure, StartupError, StartupRefused } from './errors/startup-error.ts';
import { clientErrorHandler, connectHandler } from './http/client-error.ts';
import { routableTargets } from './http/request-target.ts';
import { startMetricsServer } from './observability/metrics/metrics-server.ts';
import { tracedRequests } from './observability/server-span.ts';
import { telemetryHandle } from './observability/telemetry-handle.ts';
import { installFatalHandlers, installShutdown } from './process/shutdown.ts';
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

// Connection limits, each a decision (slowloris cut-off, keep-alive above load balancers' idle
// timeouts, Node's 16 KiB head size stated): docs/decisions.md, "HTTP server limits".
function createHttpServer(config: Config, app: ReturnType<typeof createApp>, d: Dependencies): Server {
  const { http } = config;
  const traced = tracedRequests(routableTargets(app));
  const server = createServer(
    {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      keepAliveTimeout: http.keepAliveTimeoutMs,
      maxHeaderSize: http.maxHeaderBytes,
      // Node would refuse these with bare 400/417 answers; request-conformance.ts refuses them as
      // problem+json instead (checkExpectation below hands unmet expectations to the app).
      requireHostHeader: false,
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(http.headersTimeoutMs / 4))),
    },
    traced,
  );
  server.keepAliveTimeout = http.keepAliveTimeoutMs;
  // Bad header bytes, a head over maxHeaderSize, a request timeout: problem+json, a security event.
  const clientErrors = { securityEvents: d.securityEvents, logger: d.logger, hsts: config.isProduction };
  server.on('clientError', clientErrorHandler(clientErrors));
  server.on('connect', connectHandler(clientErrors));
  server.on('checkExpectation', traced);
  return server;
}

/** `options`: createApp's (production passes none). */
export async function startService(
  config: Config,
  deps?: Dependencies,
  options: AppOptions = {},
): Promise<RunningService> {
  const d = deps ?? (await createDependencies(config));
  const app = createApp(d, options);
  const server = createHttpServer(config, app, d);
  server.listen(config.port, config.host);
  await once(server, 'listening').catch((err: unknown) => {
    throw listenFailure(err, { port: 'PORT', host: 'HOST' }, { host: config.host, port: config.port });
  });
  const metricsServer = await startMetricsServer(d.metrics, config.metrics).catch((err: unknown) => {
    server.close();
    throw listenFailure(err, { port: 'METRICS_PORT', host: 'METRICS_HOST' }, config.metrics);
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      server.closeIdleConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => metricsServer.close(() => resolve())),
      ]);
      // Telemetry is not shut down here: it belongs to the process, and installShutdown flushes
      // and stops it last when the process itself is leaving.
      await d.close();
    })();
    return stopping;
  };

  return { deps: d, server, metricsServer, url: urlOf(server), metricsUrl: urlOf(metricsServer), stop };
}

/**
 * The process. `components` defaults to service/src/components.ts; only a test entry passes a list
 * (test/fixtures/components/server.ts), to run a fixture component in a real, instrumented process.
 */
export async function main(components?: readonly Component[]): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(undefined, components);
  } catch (err) {
    if (err instanceof ConfigError) {
      // One bad variable: one line naming it; several: a list, one line each.
      const [only, ...more] = err.problems;
      const message =
        only !== undefined && more.length === 0 ? `invalid configuration: ${only}` : err.message;
      process.stderr.write(`Refusing to start: ${message}\n`);
      process.exit(1);
    }
    throw err;
  }
  let svc: RunningService;
  try {
    svc = await startService(config, components && (await createDependencies(config, { components })));
  } catch (err) {
    // Already said in one structured log line (a refused migration).
    if (err instanceof StartupRefused) process.exit(1);
    // One line naming the variable to change; anything else is ours and keeps its stack trace.
    if (err instanceof StartupError) {
      process.stderr.write(`Refusing to start: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = svc.deps.logger;
  // Before "service listening" is announced: whoever starts the process may signal it as soon as it
  // reads that line (log lines leave the process the moment they are logged).
  const exit = (code: number) => process.exit(code);
  installFatalHandlers({ logger: log, telemetry: telemetryHandle, exit });
  installShutdown({
    logger: log,
    lifecycle: svc.deps.lifecycle,
    servers: [svc.server, svc.metricsServer],
    delayMs: config.shutdown.delayMs,
    timeoutMs: config.shutdown.timeoutMs,
    telemetry: telemetryHandle,
    closeResources: () => svc.deps.close(),
    exit,
    requestsServed: () => svc.deps.requestStats.total(),
  });
  log.info({ url: svc.url, metricsUrl: svc.metricsUrl }, 'service listening');
  // node:http and pino are loaded by now, so their instrumentations' hooks must have fired.
  checkInstrumentation(telemetryHandle(), log, svc.deps.metrics.instrumentationPatched);
  // On embedded defaults nothing leaves the process; say so once, so nobody hunts for missing traces.
  const telemetry = telemetryHandle();
  if (!telemetry.exportEnabled)
    log.info(
      { telemetry: telemetry.state },
      'telemetry export off: no OTEL_EXPORTER_OTLP_ENDPOINT, spans stay local (logs and exemplars keep trace ids)',
    );
  if (!telemetry.sentryEnabled) log.info('error reporting off: no SENTRY_DSN, Sentry is not initialised');
}

if (import.meta.main) await main();
