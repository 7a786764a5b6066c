// A real Prometheus scraping /metrics negotiates OpenMetrics and stores the trace exemplars, and the
// classic counters keep their names: the link from a latency panel to the trace works end to end.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SECURITY_EVENT_TYPES } from '../../service/src/observability/metrics/metrics.ts';
import { freePort } from '../support/process.ts';
import { startServiceProcess } from '../support/service-process.ts';
import { stackBinaries } from '../support/stack-binaries.ts';

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('when Prometheus scrapes the service, then it stores exemplars that carry the request trace id', async (t) => {
  // No tail sampler behind this service: every trace is kept, so every request is an exemplar.
  const svc = await startServiceProcess(t, { TAIL_SAMPLING_RATIO_PERCENT: '100' });
  const dir = mkdtempSync(join(tmpdir(), 'prom-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const promPort = await freePort();
  const target = new URL(svc.metricsUrl).host;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: items\n    static_configs: [{ targets: ['${target}'] }]\n`,
  );
  const prom = spawn(
    (await stackBinaries()).prometheus,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--enable-feature=exemplar-storage',
    ],
    { stdio: 'ignore' },
  );
  t.after(() => prom.kill('SIGKILL'));
  const api = `http://127.0.0.1:${promPort}/api/v1`;

  const traceId = randomBytes(16).toString('hex');
  const res = await fetch(`${svc.url}/api/v1/items`, {
    headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  });
  assert.equal(res.status, 200);

  type Exemplars = {
    data: { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string> }[] }[];
  };
  const found = await poll('the exemplar in Prometheus', async () => {
    const now = Math.floor(Date.now() / 1000);
    const q = new URLSearchParams({
      query: 'http_server_request_duration_seconds_bucket{http_route="/api/v1/items"}',
      start: String(now - 120),
      end: String(now + 5),
    });
    const body = (await (await fetch(`${api}/query_exemplars?${q}`)).json()) as Exemplars;
    return body.data.flatMap((s) => s.exemplars).find((e) => e.labels.trace_id === traceId);
  });
  assert.match(found.labels.span_id ?? '', /^[0-9a-f]{16}$/);

  // Counters scraped as OpenMetrics keep their classic names in queries: one series per event type,
  // each pre-set to zero.
  const counter = (await (await fetch(`${api}/query?query=security_events_total`)).json()) as {
    data: { result: unknown[] };
  };
  assert.equal(counter.data.result.length, SECURITY_EVENT_TYPES.length);
  assert.equal(await svc.stop(), 0);
});
