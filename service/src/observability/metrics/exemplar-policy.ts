// Which requests become exemplars: only those whose trace the gateway's tail sampler keeps, so a click
// on an exemplar never leads to a trace that was dropped (docs/decisions.md, "No dead links").
// @see https://opentelemetry.io/docs/specs/otel/trace/tracestate-probability-sampling/
import type { SpanContext } from '@opentelemetry/api';

/**
 * Span attribute set on the server span of every request that became an exemplar. The gateway keeps
 * every trace with a span carrying it (observability/collector/gateway.yaml), whatever its other policies say.
 */
export const ATTR_EXEMPLAR = 'sampling.exemplar';

/**
 * The latency SLO: a request slower than this is "slow" (le="0.25" in prometheus/rules/recording.yml,
 * the gateway's latency policy). A test keeps the three equal.
 */
export const LATENCY_SLO_SECONDS = 0.25;

// OTel consistent probability sampling: 56 bits of randomness per trace, compared with a threshold.
const MAX_ADJUSTED_COUNT = 2 ** 56;
const NEVER = BigInt(MAX_ADJUSTED_COUNT);

/**
 * The rejection threshold for keeping `percent` % of traces, computed as the collector's pkg/sampling
 * does (ProbabilityToThreshold at full precision), so that both sides draw the same line.
 */
export function thresholdFor(percent: number): bigint {
  const ratio = percent / 100;
  if (ratio >= 1) return 0n;
  if (!(ratio >= 1 / MAX_ADJUSTED_COUNT)) return NEVER;
  return NEVER - BigInt(Math.round(ratio * MAX_ADJUSTED_COUNT));
}

const RV = /(?:^|;)rv:([0-9a-f]{14})(?:;|$)/;
/** The 14 hex digits of the trace's randomness: `rv` of the `ot` tracestate entry, else the trace id's last 14. */
function randomnessHex(ctx: Pick<SpanContext, 'traceId' | 'traceState'>): string {
  const ot = ctx.traceState?.get('ot');
  // What this service's own sampler writes, and so the usual case: no rv to look for.
  const rv = ot === undefined || ot === 'th:0' ? undefined : RV.exec(ot)?.[1];
  return rv ?? ctx.traceId.slice(-14);
}

/** The trace's randomness: `rv` of the `ot` tracestate entry when present, else the trace id's low 56 bits. */
export function randomnessOf(ctx: Pick<SpanContext, 'traceId' | 'traceState'>): bigint {
  return BigInt(`0x${randomnessHex(ctx)}`);
}

export interface ExemplarPolicy {
  /** True when the request's trace will be kept by the gateway, so it may carry an exemplar. */
  links(ctx: SpanContext, statusCode: number, seconds: number): boolean;
  /**
   * True when the trace is in the gateway's share, kept whatever happens to it later: what an
   * outgoing call can know of its trace when it ends, before the request it serves has.
   */
  inShare(ctx: Pick<SpanContext, 'traceId' | 'traceState'>): boolean;
}

/**
 * Errors (5xx) and requests slower than the SLO are kept by the gateway's own policies; of the rest,
 * the share whose randomness clears the threshold of `ratioPercent` is the share the gateway keeps.
 */
export function exemplarPolicy(ratioPercent: number): ExemplarPolicy {
  // Compared as two 28-bit halves (exact in a double) rather than one BigInt: this runs per request.
  const threshold = thresholdFor(ratioPercent);
  const high = Number(threshold >> 28n);
  const low = Number(threshold & 0xfffffffn);
  const inShare = (ctx: Pick<SpanContext, 'traceId' | 'traceState'>) => {
    const hex = randomnessHex(ctx);
    const h = Number.parseInt(hex.slice(0, 7), 16);
    return h > high || (h === high && Number.parseInt(hex.slice(7), 16) >= low);
  };
  return {
    links: (ctx, statusCode, seconds) => statusCode >= 500 || seconds > LATENCY_SLO_SECONDS || inShare(ctx),
    inShare,
  };
}
