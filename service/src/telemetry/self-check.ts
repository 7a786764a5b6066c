// Start-up self-check: did the HTTP and pino instrumentations really patch their modules? Under ESM
// they silently do nothing when the loader hook is missing (no server spans, no trace ids in log
// lines); this turns that into an error and a metric. (http.route comes from the app's own routing.)
import type { Gauge } from 'prom-client';
import type { Logger } from '../platform/logger.ts';
import type { TelemetryHandle } from '../platform/telemetry-handle.ts';

export const REQUIRED_INSTRUMENTATIONS = ['http', 'pino'] as const;

/** Returns the instrumentations that did not patch (empty when all is well or tracing is disabled). */
export function checkInstrumentation(
  handle: TelemetryHandle,
  logger: Logger,
  gauge: Gauge<'instrumentation'>,
): string[] {
  if (handle.state === 'disabled') {
    logger.info('OpenTelemetry disabled by OTEL_SDK_DISABLED: no spans, no trace ids in logs');
    return [];
  }
  const patched = new Set(handle.patched());
  const missing: string[] = [];
  for (const name of REQUIRED_INSTRUMENTATIONS) {
    gauge.set({ instrumentation: name }, patched.has(name) ? 1 : 0);
    if (!patched.has(name)) missing.push(name);
  }
  if (missing.length > 0)
    logger.error(
      { missing, instrumentation: handle.state },
      handle.state === 'absent'
        ? 'telemetry not loaded: start with `node --import ./service/src/instrumentation.ts`'
        : 'OpenTelemetry instrumentation did not patch its module: no server spans, or logs lack trace ids',
    );
  return missing;
}
