// The service's version comes from package.json at run time, not from npm: started with plain `node`
// (as the image and a Kubernetes pod start it), every place that shows the version shows the same one.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_TOKEN, ROOT, startServiceProcess } from './support/service-process.ts';
import { startTracedService } from './support/traced-service.ts';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const buildInfoVersion = async (metricsUrl: string) => {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('service_build_info{'));
  assert.ok(line, 'no service_build_info sample');
  return /version="([^"]*)"/.exec(line)?.[1];
};

const detailedVersion = async (url: string) => {
  const res = await fetch(`${url}/api/health/detailed`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { version: string }).version;
};

test('when the service is started with node, not npm, then build info, spans, Sentry and the detailed health show the package.json version', async (t) => {
  assert.notEqual(version, '0.0.0', 'package.json version equals the old fallback: the test could not fail');
  // spawnRaw passes only PATH, HOME and these: no npm_package_version.
  const { svc, otlp, sentry } = await startTracedService(t, { sentry: true });

  assert.equal(await buildInfoVersion(svc.metricsUrl), version);
  assert.equal(await detailedVersion(svc.url), version);
  assert.equal((await fetch(`${svc.url}/api/debug/error`)).status, 500);
  const event = await sentry.waitForEvent(() => true);
  assert.equal(event.release, `items-api@${version}`);
  const span = await otlp.waitForSpan((s) => s.attributes['http.route'] === '/api/debug/error');
  assert.equal(span.resource['service.version'], version);
});

test('when SERVICE_VERSION is set, then it overrides the package.json version everywhere', async (t) => {
  const svc = await startServiceProcess(t, { SERVICE_VERSION: '7.7.7-rc.1' });
  assert.equal(await buildInfoVersion(svc.metricsUrl), '7.7.7-rc.1');
  assert.equal(await detailedVersion(svc.url), '7.7.7-rc.1');
});
