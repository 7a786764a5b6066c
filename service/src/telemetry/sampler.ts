// parentbased_always_on that also writes `ot=th:0` into the tracestate, so the gateway takes its share
// by the trace id's randomness, the rule exemplars are picked by (observability/metrics/exemplar-policy.ts). Why own
// code: docs/decisions.md, "Head sampler".
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
