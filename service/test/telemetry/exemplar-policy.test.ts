// The service's half of "no dead links": the head sampler's tracestate and the exemplar rule, checked
// against the numbers of the OTel spec and of the gateway's config and the SLO rules.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  createTraceState,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema } from '../../src/config.ts';
import {
  exemplarPolicy,
  LATENCY_SLO_SECONDS,
  randomnessOf,
  thresholdFor,
} from '../../src/observability/metrics/exemplar-policy.ts';
import { consistentAlwaysOnSampler } from '../../src/telemetry/sampler.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const context = (traceId: string, traceState?: string): SpanContext => ({
  traceId,
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
  ...(traceState === undefined ? {} : { traceState: createTraceState(traceState) }),
});

test('when a percentage becomes a threshold, then it is the one of the OTel spec (10 % is th:e6666666666666)', () => {
  assert.equal(thresholdFor(10).toString(16), 'e6666666666666');
  assert.equal(thresholdFor(50).toString(16), '80000000000000');
  assert.equal(thresholdFor(100), 0n);
  assert.equal(thresholdFor(0), 1n << 56n);
});

test('when a trace has no rv in its tracestate, then its randomness is the low 56 bits of its trace id; with rv, rv', () => {
  assert.equal(randomnessOf(context('4bf92f3577b34da6a3ce929d0e0e4736')).toString(16), 'ce929d0e0e4736');
  assert.equal(randomnessOf(context('4bf92f3577b34da6a3ce929d0e0e4736', 'ot=th:0;rv:00000000000001')), 1n);
});

test('when a request ends, then it is linked as an exemplar if it failed, was slow, or its trace is in the share', () => {
  const policy = exemplarPolicy(10);
  // The share is the traces whose randomness is at or above the threshold (0xe666…).
  const outside = context('ffffffffffffffffff00000000000000'); // randomness 0
  const inside = context('000000000000000000ffffffffffffff'); // randomness 0xffffffffffffff
  assert.equal(policy.links(outside, 200, 0.01), false);
  assert.equal(policy.links(inside, 200, 0.01), true);
  assert.equal(policy.links(outside, 503, 0.01), true);
  assert.equal(policy.links(outside, 200, LATENCY_SLO_SECONDS + 0.001), true);
  assert.equal(policy.links(outside, 200, LATENCY_SLO_SECONDS), false);
});

test('when the sampler decides, then it samples like parentbased_always_on and puts ot=th:0 in the tracestate, keeping a caller’s threshold', () => {
  const sampler = consistentAlwaysOnSampler();
  const decide = (parent?: SpanContext) =>
    sampler.shouldSample(
      parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT,
      '4bf92f3577b34da6a3ce929d0e0e4736',
      'GET',
      SpanKind.SERVER,
      {},
      [],
    );
  const root = decide();
  assert.equal(root.decision, SamplingDecision.RECORD_AND_SAMPLED);
  assert.equal(root.traceState?.get('ot'), 'th:0');
  const withRv = decide(context('4bf92f3577b34da6a3ce929d0e0e4736', 'vendor=x,ot=rv:00000000000001'));
  assert.equal(withRv.traceState?.get('ot'), 'th:0;rv:00000000000001');
  assert.equal(withRv.traceState?.get('vendor'), 'x');
  const decided = decide(context('4bf92f3577b34da6a3ce929d0e0e4736', 'ot=th:8'));
  assert.equal(decided.traceState?.get('ot') ?? 'th:8', 'th:8');
  const unsampled = decide({ ...context('4bf92f3577b34da6a3ce929d0e0e4736'), traceFlags: TraceFlags.NONE });
  assert.equal(unsampled.decision, SamplingDecision.NOT_RECORD);
});

test('when the SLO and the share are read from the rules, the gateway config and the service config, then they agree', () => {
  const recording = readFileSync(join(ROOT, 'prometheus/rules/recording.yml'), 'utf8');
  assert.match(
    recording,
    new RegExp(`record: slo:latency_threshold:seconds\\s+expr: vector\\(${LATENCY_SLO_SECONDS}\\)`),
  );
  assert.ok(recording.includes(`le="${LATENCY_SLO_SECONDS}"`));
  const gateway = readFileSync(join(ROOT, 'observability/collector/gateway.yaml'), 'utf8');
  assert.ok(
    gateway.includes(`\${env:LATENCY_SLO_MS:-${LATENCY_SLO_SECONDS * 1000}}`),
    'gateway latency default',
  );
  const share = Number(/\$\{env:TAIL_SAMPLING_RATIO_PERCENT:-(\d+)\}/.exec(gateway)?.[1]);
  assert.equal(envSchema.shape.TAIL_SAMPLING_RATIO_PERCENT.parse(undefined), share);
  const policies = parse(gateway).processors.tail_sampling.policies as {
    name: string;
    type: string;
    boolean_attribute?: { key: string };
  }[];
  assert.equal(
    policies.find((p) => p.type === 'boolean_attribute')?.boolean_attribute?.key,
    'sampling.exemplar',
  );
});

test('when the manifests are rendered, then the API and the gateway read the same TAIL_SAMPLING_RATIO_PERCENT', () => {
  const docs = (file: string) =>
    parseAllDocuments(readFileSync(join(ROOT, 'deploy/kubernetes', file), 'utf8')).map((d) => d.toJS());
  const api = docs('configmap.yaml').find((d) => d?.kind === 'ConfigMap')?.data?.TAIL_SAMPLING_RATIO_PERCENT;
  const gateway = docs('otel-gateway.yaml')
    .find((d) => d?.kind === 'Deployment')
    ?.spec.template.spec.containers.flatMap((c: { env?: { name: string; value?: string }[] }) => c.env ?? [])
    .find((e: { name: string }) => e.name === 'TAIL_SAMPLING_RATIO_PERCENT')?.value;
  assert.ok(api !== undefined, 'the API ConfigMap does not set it');
  assert.equal(api, gateway);
});

test('when the share is decided in 28-bit halves, then it draws the line exactly where the threshold is', () => {
  for (const percent of [0.001, 1, 10, 33.3, 50, 99.9]) {
    const threshold = thresholdFor(percent);
    for (const randomness of [threshold - 1n, threshold, threshold + 1n]) {
      const traceId = `${'0'.repeat(18)}${randomness.toString(16).padStart(14, '0')}`;
      assert.equal(
        exemplarPolicy(percent).inShare({ traceId }),
        threshold <= randomness,
        `${percent} % at ${randomness}`,
      );
    }
  }
});
