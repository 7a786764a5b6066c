// How the benchmark starts the template: with the start command's node flags and the pod's environment,
// and an informational row that leaves one of them out really runs without it (or refuses to run at all).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  allVariants,
  launchSpec,
  localOverrides,
  NO_PRETENURING,
  type Variant,
} from '../../bench/lib/variants.ts';

const ctx = {
  root: resolve(import.meta.dirname, '..', '..'),
  redisUrl: 'redis://127.0.0.1:1',
  otlpUrl: 'http://127.0.0.1:1',
  sentryDsn: 'http://public@127.0.0.1:1/1',
  databasePath: '/nonexistent/items.db',
};
const variant = (id: string): Variant => {
  const v = allVariants().find((x) => x.id === id);
  assert.ok(v, `no variant ${id}`);
  return v;
};

test('when the full template is launched, then it gets the GC flag of `npm start`; the pretenuring row drops only that flag', () => {
  const full = launchSpec(variant('template'), ctx).args;
  const v8 = launchSpec(variant('template-v8-pretenuring'), ctx).args;
  assert.ok(full.includes(NO_PRETENURING));
  assert.ok(!v8.includes(NO_PRETENURING));
  assert.deepEqual(
    v8,
    full.filter((a) => a !== NO_PRETENURING),
  );
});

test('when a row drops a flag the start command does not have, then launching it fails instead of measuring the full template twice', () => {
  const stale: Variant = { ...variant('template-v8-pretenuring'), withoutNodeFlags: ['--no-such-flag'] };
  assert.throws(() => launchSpec(stale, ctx), /drops --no-such-flag, which the start command no longer has/);
});

test('when the full template is launched, then its environment is the shipped pod environment (ConfigMap and container env of deploy/kubernetes) except the local addresses, secrets and limiter budgets', () => {
  const k8s = join(ctx.root, 'deploy', 'kubernetes');
  const configMap = parse(readFileSync(join(k8s, 'configmap.yaml'), 'utf8')) as {
    data: Record<string, string>;
  };
  const deployment = parse(readFileSync(join(k8s, 'deployment.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
  };
  const pod: Record<string, string | undefined> = { ...configMap.data };
  for (const e of deployment.spec.template.spec.containers[0]?.env ?? []) pod[e.name] = e.value;
  // Named here, not taken from the bench, so a new replacement cannot slip in unreviewed.
  const replaced = [
    ...['HOST', 'PORT', 'METRICS_HOST', 'METRICS_PORT', 'REDIS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    ...['SENTRY_DSN', 'DATABASE_URL', 'DATABASE_PASSWORD_FILE', 'DATABASE_PATH', 'API_TOKENS', 'ADMIN_TOKEN'],
    ...['RATE_LIMIT_GENERAL_POINTS', 'RATE_LIMIT_API_POINTS', 'RATE_LIMIT_ADMIN_POINTS', 'SHUTDOWN_DELAY_MS'],
  ];
  assert.deepEqual(Object.keys(localOverrides(ctx)).sort(), [...replaced].sort());
  const env = launchSpec(variant('template'), ctx).env;
  const shipped = Object.keys(pod).filter((k) => !replaced.includes(k));
  assert.ok(shipped.includes('OTEL_SERVICE_NAME') && shipped.includes('NODE_ENV'), 'the ConfigMap was read');
  for (const key of shipped) assert.equal(env[key], pod[key], `${key} differs from the manifests`);
  const extra = Object.keys(env).filter((k) => !(k in pod) && !replaced.includes(k));
  assert.deepEqual(extra.sort(), ['HOME', 'PATH']);
  assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, ctx.otlpUrl);
  assert.equal(env.SENTRY_DSN, ctx.sentryDsn);
  assert.equal(env.REDIS_URL, ctx.redisUrl);
  assert.equal(env.DATABASE_PATH, ctx.databasePath);
  assert.equal(env.DATABASE_URL, undefined);
});
