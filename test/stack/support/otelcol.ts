// Runs the built collector on one of the committed config files for a test: its own ports come from the
// file's OTELCOL_* variables (free local ports), everything else from the environment the test gives.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectOutput, freePort } from '../../support/process.ts';
import { stackBinaries } from '../../support/stack-binaries.ts';
import { OBSERVABILITY_DIR } from './paths.ts';

export const AGENT_CONFIG = join(OBSERVABILITY_DIR, 'collector', 'agent.yaml');
export const GATEWAY_CONFIG = join(OBSERVABILITY_DIR, 'collector', 'gateway.yaml');
/** The gateway's "share" policy follows the OTel threshold in tracestate only with this gate. */
export const GATEWAY_FEATURE_GATES = '--feature-gates=processor.tailsamplingprocessor.usetracestate';

export interface RunningCollector {
  /** host:port of the OTLP/gRPC receiver. */
  readonly otlpGrpc: string;
  readonly otlpGrpcPort: number;
  /** Base URL of the OTLP/HTTP receiver. */
  readonly otlpHttpUrl: string;
  /** The collector's own Prometheus metrics. */
  readonly metricsUrl: string;
  output(): string;
  /** SIGTERM, as Kubernetes stops a pod: the collector drains its pipelines and exits. */
  stop(): Promise<void>;
}

export async function runCollector(
  t: TestContext,
  configFile: string,
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<RunningCollector> {
  const { otelcol } = await stackBinaries();
  const [grpcPort, httpPort, healthPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const child = spawn(otelcol, [`--config=${configFile}`, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${healthPort}`,
      OTELCOL_METRICS_HOST: '127.0.0.1',
      OTELCOL_METRICS_PORT: String(metricsPort),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = collectOutput(child);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await Promise.race([out.exited.then(() => true), sleep(5_000).then(() => false)]);
      if (!stopped) child.kill('SIGKILL');
      await out.exited;
    }
  };
  t.after(stop);
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
    otlpGrpc: `127.0.0.1:${grpcPort}`,
    otlpGrpcPort: grpcPort,
    otlpHttpUrl: `http://127.0.0.1:${httpPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    output,
    stop,
  };
}
