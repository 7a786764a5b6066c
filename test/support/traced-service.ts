// The service process wired to local receivers: an OTLP receiver (unless `otlp: false`) with both batch
// processors exporting every 100 ms, and a Sentry ingest when asked for; each closed when the test ends.
import type { TestContext } from 'node:test';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.ts';
import { type SentryReceiver, startSentryReceiver } from './sentry-receiver.ts';
import { type ServiceProcess, type SpawnOptions, startServiceProcess } from './service-process.ts';

export interface TracedServiceOptions extends SpawnOptions {
  /** false: no OTLP receiver and no OTEL_* variable set (a test of Sentry alone). */
  readonly otlp?: boolean;
  /** true: a Sentry receiver too, as SENTRY_DSN. */
  readonly sentry?: boolean;
  /** OTEL_EXPORTER_OTLP_PROTOCOL; unset, the service's default. */
  readonly protocol?: 'http/protobuf' | 'http/json';
  /** The test's own variables, applied last: they override the wiring (e.g. a batch delay that never expires). */
  readonly env?: Record<string, string>;
}

export interface TracedService<O extends TracedServiceOptions> {
  readonly svc: ServiceProcess;
  readonly otlp: O extends { otlp: false } ? undefined : OtlpReceiver;
  readonly sentry: O extends { sentry: true } ? SentryReceiver : undefined;
}

/** Starts the receivers asked for, then the service exporting to them; resolves once it listens. */
export async function startTracedService<const O extends TracedServiceOptions = Record<never, never>>(
  t: TestContext,
  options?: O,
): Promise<TracedService<O>> {
  const {
    otlp: withOtlp = true,
    sentry: withSentry = false,
    protocol,
    env = {},
    ...spawnOptions
  } = options ?? {};
  const wiring: Record<string, string> = {};
  let otlp: OtlpReceiver | undefined;
  if (withOtlp) {
    otlp = await startOtlpReceiver();
    t.after(() => otlp?.close());
    wiring.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
    if (protocol) wiring.OTEL_EXPORTER_OTLP_PROTOCOL = protocol;
    wiring.OTEL_BSP_SCHEDULE_DELAY = '100';
    wiring.OTEL_BLRP_SCHEDULE_DELAY = '100';
  }
  let sentry: SentryReceiver | undefined;
  if (withSentry) {
    sentry = await startSentryReceiver();
    t.after(() => sentry?.close());
    wiring.SENTRY_DSN = sentry.dsn;
  }
  const svc = await startServiceProcess(t, { ...wiring, ...env }, spawnOptions);
  return { svc, otlp, sentry } as TracedService<O>;
}
