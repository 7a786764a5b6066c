// Traces made up by a test and sent to a collector as OTLP/HTTP JSON, with the properties the gateway's
// policies look at (status, duration, path, tracestate) chosen per trace.
import { randomBytes } from 'node:crypto';

export interface SyntheticSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  /** 1 internal, 2 server, 3 client (OTLP SpanKind). */
  readonly kind: 1 | 2 | 3;
  readonly durationMs: number;
  readonly error?: boolean;
  readonly attributes?: Record<string, string | boolean>;
  /** W3C tracestate; the service's spans carry `ot=th:0`. */
  readonly traceState?: string;
}

export const newTraceId = () => randomBytes(16).toString('hex');
export const newSpanId = () => randomBytes(8).toString('hex');

const value = (v: string | boolean) => (typeof v === 'boolean' ? { boolValue: v } : { stringValue: v });

/** An ExportTraceServiceRequest in OTLP/JSON (ids as hex, times as decimal strings). */
export function otlpJson(serviceName: string, spans: readonly SyntheticSpan[]) {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [
          {
            scope: { name: 'pipeline-test' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              traceState: s.traceState ?? '',
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: String(now - BigInt(Math.round(s.durationMs * 1_000_000))),
              endTimeUnixNano: String(now),
              attributes: Object.entries(s.attributes ?? {}).map(([key, v]) => ({ key, value: value(v) })),
              status: s.error ? { code: 2 } : { code: 0 },
            })),
          },
        ],
      },
    ],
  };
}

export async function sendSpans(
  otlpHttpUrl: string,
  serviceName: string,
  spans: readonly SyntheticSpan[],
): Promise<void> {
  const res = await fetch(`${otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(otlpJson(serviceName, spans)),
  });
  if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
}
