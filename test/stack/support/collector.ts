// The real OpenTelemetry Collector for a test: the distribution built from
// observability/collector-builder.yaml, run on observability/otel-collector.yaml itself, with every
// address moved to a free local port through the file's own environment variables.
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCollector } from './otelcol.ts';
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

export function startCollector(
  t: TestContext,
  targets: CollectorTargets,
  configFile = COLLECTOR_CONFIG,
): Promise<TestCollector> {
  return runCollector(t, configFile, {
    TEMPO_OTLP_ENDPOINT: targets.tempo,
    LOKI_OTLP_ENDPOINT: targets.loki,
  });
}
