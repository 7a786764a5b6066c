// The head sampler: parentbased_always_on (every span recorded and exported, a caller's "not sampled"
// respected) that also says so in the W3C tracestate, `ot=th:0` ("sampled at 100 %"). The gateway's tail
// sampler reads that and takes its share by the trace id's randomness (OTel consistent probability
// sampling), the same rule the service picks exemplars by (platform/exemplar-policy.ts).
// Own code rather than @opentelemetry/sampler-composite: that package pins core/sdk-trace 2.x next to
// our 3.x, for what is one tracestate entry here.
// @see https://opentelemetry.io/docs/specs/otel/trace/tracestate-probability-sampling/
import { type Context, createTraceState, trace } from '@opentelemetry/api';
import {
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
} from '@opentelemetry/sdk-trace';

/** `ot` value with `th:0`, unless a threshold is already there (a caller's decision stands). */
function withThreshold(ot: string | undefined): string {
  if (ot === undefined || ot === '') return 'th:0';
  return /(?:^|;)th:/.test(ot) ? ot : `th:0;${ot}`;
}

export function consistentAlwaysOnSampler(): Sampler {
  const delegate = new ParentBasedSampler({ root: new AlwaysOnSampler() });
  // A TraceState is immutable: every root span can share this one.
  const rootState = createTraceState().set('ot', 'th:0');
  return {
    shouldSample(context: Context, traceId, spanName, spanKind, attributes, links) {
      const result = delegate.shouldSample(context, traceId, spanName, spanKind, attributes, links);
      if (result.decision !== SamplingDecision.RECORD_AND_SAMPLED) return result;
      const parent = trace.getSpanContext(context)?.traceState;
      if (parent === undefined) return { ...result, traceState: rootState };
      const ot = parent.get('ot');
      const next = withThreshold(ot);
      if (next === ot) return result;
      return { ...result, traceState: parent.set('ot', next) };
    },
    toString: () => 'ConsistentAlwaysOn{parentbased_always_on, ot=th:0}',
  };
}
