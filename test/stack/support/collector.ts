// The real OpenTelemetry Collector for a test: the distribution built from
// observability/collector-builder.yaml, run on observability/otel-collector.yaml itself, with every
// address moved to a free local port through the file's own environment variables.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectOutput, freePort } from '../../support/process.ts';
import { stackBinaries } from '../../support/stack-binaries.ts';
import { OBSERVABILITY_DIR } from './paths.ts';

export const COLLECTOR_CONFIG = join(OBSERVABILITY_DIR, 'otel-collector.yaml');
export const COLLECTOR_MANIFEST = join(OBSERVABILITY_DIR, 'collector-builder.yaml');

export interface TestCollector {
  /** Base URL of the OTLP/HTTP receiver (what OTEL_EXPORTER_OTLP_ENDPOINT of the service takes). */
  readonly otlpHttpUrl: string;
  /** The collector's own Prometheus metrics (its telemetry), e.g. items through each processor. */
  readonly metricsUrl: string;
  output(): string;
}

export interface CollectorTargets {
  /** host:port of the OTLP/gRPC trace backend (Tempo in compose). */
  readonly tempo: string;
  /** Base URL of the OTLP/HTTP log backend, `/v1/logs` is appended (Loki's `/otlp` in compose). */
  readonly loki: string;
}

export async function startCollector(
  t: TestContext,
  targets: CollectorTargets,
  configFile = COLLECTOR_CONFIG,
): Promise<TestCollector> {
  const { otelcol } = await stackBinaries();
  const [grpcPort, httpPort, healthPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const child = spawn(otelcol, [`--config=${configFile}`], {
    env: {
      PATH: process.env.PATH ?? '',
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${healthPort}`,
      OTELCOL_METRICS_HOST: '127.0.0.1',
      OTELCOL_METRICS_PORT: String(metricsPort),
      TEMPO_OTLP_ENDPOINT: targets.tempo,
      LOKI_OTLP_ENDPOINT: targets.loki,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collectOutput(child);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([out.exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!stopped) child.kill('SIGKILL');
      await out.exited;
    }
  });
  const output = () => out.stdout() + out.stderr();

  // The health_check extension answers 200 once every pipeline has started.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`otelcol exited (${child.exitCode}):\n${output()}`);
    const ok = await fetch(`http://127.0.0.1:${healthPort}/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`otelcol not healthy after 30 s:\n${output()}`);
    await sleep(100);
  }
  return {
    otlpHttpUrl: `http://127.0.0.1:${httpPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    output,
  };
}
