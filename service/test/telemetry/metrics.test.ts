// The metric contract over HTTP: bounded cardinality, promtool-clean classic text, OpenMetrics on request.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { test } from 'node:test';
import { stackBinaries } from '../../../test/support/stack-binaries.ts';
import { startTestService } from '../helpers.ts';

const KNOWN_METHODS = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE'];

function seriesOf(text: string, metric: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`))
    .map((l) => {
      const labels: Record<string, string> = {};
      for (const m of (l.slice(l.indexOf('{') + 1, l.indexOf('}')) ?? '').matchAll(/(\w+)="([^"]*)"/g))
        labels[m[1] as string] = m[2] as string;
      return labels;
    });
}

function send(agent: Agent, base: URL, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('when 10,000 requests hit random paths with random methods and query strings, then only "unmatched" series are added', async (t) => {
  const svc = await startTestService(t, { LOG_LEVEL: 'warn' });
  const base = new URL(svc.url);
  // Methods Node's parser accepts, known to the semantic conventions or not.
  const methods = [
    'GET',
    'POST',
    'PUT',
    'DELETE',
    'PATCH',
    'OPTIONS',
    'HEAD',
    'PROPFIND',
    'MKCOL',
    'PURGE',
    'LOCK',
    'SEARCH',
    'REPORT',
  ];
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  t.after(() => agent.destroy());
  const before = seriesOf(
    await (await fetch(`${svc.metricsUrl}/metrics`)).text(),
    'http_server_request_duration_seconds_count',
  );

  const total = 10_000;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const r = randomBytes(8).toString('hex');
      const method = methods[r.charCodeAt(0) % methods.length] as string;
      await send(
        agent,
        base,
        method,
        `/${r}/${randomBytes(4).toString('hex')}?${r}=${randomBytes(6).toString('hex')}`,
      );
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));

  const after = seriesOf(
    await (await fetch(`${svc.metricsUrl}/metrics`)).text(),
    'http_server_request_duration_seconds_count',
  );
  const added = after.filter((s) => !before.some((b) => JSON.stringify(b) === JSON.stringify(s)));
  assert.ok(added.length > 0);
  for (const s of added) {
    assert.equal(s.http_route, 'unmatched');
    assert.ok([...KNOWN_METHODS, '_OTHER'].includes(s.http_request_method ?? ''), s.http_request_method);
  }
  // Bounded by methods x status codes, never by paths or queries.
  assert.ok(added.length <= (KNOWN_METHODS.length + 1) * 3, `${added.length} new series`);
  assert.ok(added.some((s) => s.http_request_method === '_OTHER'));
  // Every one of the 10,000 requests was counted, all of them under "unmatched".
  const unmatchedCount = (await (await fetch(`${svc.metricsUrl}/metrics`)).text())
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('http_server_request_duration_seconds_count{') && l.includes('http_route="unmatched"'),
    )
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.equal(unmatchedCount, total);
});

test('when Prometheus lints the classic output, then promtool check metrics finds nothing', async (t) => {
  const svc = await startTestService(t);
  // Exercise every labelled family first, so the lint sees real series.
  await svc.fetch('/api/v1/items');
  await svc.fetch('/api/v1/items/nope');
  await svc.fetch('/nope', { method: 'PROPFIND' });
  const res = await fetch(`${svc.metricsUrl}/metrics`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^http_server_request_duration_seconds_bucket\{/m);
  assert.doesNotMatch(text, / # \{trace_id/, 'no exemplars in the classic format');
  const { promtool } = await stackBinaries();
  const lint = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(lint.error, undefined, 'promtool runs');
  assert.equal(`${lint.stdout}${lint.stderr}`.trim(), '');
  assert.equal(lint.status, 0);
});

test('when the scraper asks for OpenMetrics, then it gets OpenMetrics with counters named by family, and classic stays intact after', async (t) => {
  const svc = await startTestService(t);
  const om = await fetch(`${svc.metricsUrl}/metrics`, {
    headers: { accept: 'application/openmetrics-text; version=1.0.0' },
  });
  assert.match(om.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
  const omText = await om.text();
  assert.match(omText, /^# TYPE security_events counter$/m);
  assert.match(omText, /^security_events_total\{type="unauthorized"\} 0$/m);
  assert.ok(omText.endsWith('# EOF\n'));
  const classic = await (await fetch(`${svc.metricsUrl}/metrics`)).text();
  assert.match(classic, /^# TYPE security_events_total counter$/m);
  assert.match(classic, /^security_events_total\{type="unauthorized"\} 0$/m);
});

test('when a request uses a method outside the semantic conventions, then it is counted as _OTHER on its route', async (t) => {
  const svc = await startTestService(t);
  const agent = new Agent();
  t.after(() => agent.destroy());
  const status = await send(agent, new URL(svc.url), 'PROPFIND', '/api/v1/items');
  assert.equal(status, 404);
  const series = seriesOf(
    await (await fetch(`${svc.metricsUrl}/metrics`)).text(),
    'http_server_request_duration_seconds_count',
  );
  assert.ok(series.some((s) => s.http_request_method === '_OTHER' && s.http_route === 'unmatched'));
});
