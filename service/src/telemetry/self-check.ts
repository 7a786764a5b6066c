// Start-up self-check: did the HTTP and pino instrumentations really patch their modules? Under ESM
// they silently do nothing when the module hooks are missing (no client spans, no trace ids in log
// lines); this turns that into an error and a metric. (http.route comes from the app's own routing.)
import { context, TraceFlags, trace } from '@opentelemetry/api';
import { pino } from 'pino';
import type { Gauge } from 'prom-client';
import type { Logger } from '../observability/logger.ts';
import type { TelemetryHandle } from '../observability/telemetry-handle.ts';

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
  // pino is also required by pino-http, so its CommonJS hook fires even when the ESM one did not and
  // the app's own logger (an ESM import) is unpatched: what counts is that its lines get trace ids.
  if (!carriesTraceIds(logger)) patched.delete('pino');
  const missing: string[] = [];
  // Without the preload every required one counts as missing; with it, those an adopter turned off
  // (OTEL_NODE_DISABLED_INSTRUMENTATIONS) are not checked.
  const enabled = handle.instrumentations;
  for (const name of REQUIRED_INSTRUMENTATIONS.filter((n) => enabled?.includes(n) ?? true)) {
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

// The W3C Trace Context example ids.
const PROBE = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.NONE,
};

/** Whether a line this logger writes inside a span gets its trace id (the pino instrumentation's mixin). */
function carriesTraceIds(logger: Logger): boolean {
  // A span context only, never started: nothing is recorded or exported.
  const mixin = (logger as unknown as Record<symbol, unknown>)[pino.symbols.mixinSym];
  if (typeof mixin !== 'function') return false;
  const inSpan = trace.setSpan(context.active(), trace.wrapSpanContext(PROBE));
  const fields = context.with(inSpan, () =>
    mixin.call(logger, {}, logger.levels.values.info, logger),
  ) as unknown;
  return (fields as { trace_id?: unknown } | undefined)?.trace_id === PROBE.traceId;
}
