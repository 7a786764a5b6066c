// A real Prometheus for a test (Prometheus 3, built by scripts/stack-binaries.sh at the compose image's
// release): its config derived from the compose one, its own TSDB in a temp dir, stopped in t.after;
// plus the few HTTP API calls the stack tests make.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { freePort } from '../../support/process.ts';
import { stackBinaries } from '../../support/stack-binaries.ts';
import { startDaemon } from './daemon.ts';
import { PROMETHEUS_DIR } from './paths.ts';

export const JOB = 'items-api';

// biome-ignore lint/suspicious/noExplicitAny: a Prometheus config is plain parsed YAML.
type PromConfig = any;

export function composePrometheusConfig(): PromConfig {
  return parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8'));
}

export interface TestConfigOptions {
  /** host:port of a test Alertmanager; without one, alerts stay in Prometheus (no `alerting`). */
  readonly alertmanager?: string;
  /** A rule file (as prometheus.yml names it) to load from another path, e.g. a test-rendered copy. */
  readonly ruleFiles?: Readonly<Record<string, string>>;
}

/**
 * The compose scrape config with only what cannot hold here replaced: the api target is a static
 * 127.0.0.1 address instead of compose DNS discovery, intervals are 1s so a short test has many
 * samples, rule files are absolute paths to the project's own rules, and alerts go to the test's
 * Alertmanager, if any.
 */
export function testPrometheusConfig(
  target: string,
  scrapeInterval = '1s',
  options: TestConfigOptions = {},
): PromConfig {
  const config = composePrometheusConfig();
  config.global.scrape_interval = scrapeInterval;
  config.global.evaluation_interval = scrapeInterval;
  config.rule_files = (config.rule_files as string[]).map(
    (f) => options.ruleFiles?.[f] ?? join(PROMETHEUS_DIR, f),
  );
  if (options.alertmanager === undefined) delete config.alerting;
  else config.alerting.alertmanagers = [{ static_configs: [{ targets: [options.alertmanager] }] }];
  const job = (config.scrape_configs as PromConfig[]).find((j) => j.job_name === JOB);
  if (!job) throw new Error(`prometheus.yml has no ${JOB} job`);
  delete job.dns_sd_configs;
  job.static_configs = [{ targets: [target] }];
  return config;
}

export interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}
interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}
export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}
export interface RuleGroup {
  name: string;
  rules: {
    name: string;
    type: 'recording' | 'alerting';
    health: string;
    lastError?: string;
    query: string;
  }[];
}

export interface TestPrometheus {
  readonly url: string;
  query(expr: string, time?: number): Promise<ApiResponse<{ resultType: string; result: Sample[] }>>;
  queryRange(
    expr: string,
    start: number,
    end: number,
    stepSeconds: number,
  ): Promise<ApiResponse<{ resultType: string; result: Sample[] }>>;
  exemplars(expr: string, start: number, end: number): Promise<ExemplarSeries[]>;
  rules(): Promise<RuleGroup[]>;
  /** Resolves once `expr` returns at least one series (polls; rejects after the timeout). */
  waitFor(expr: string, timeoutMs: number): Promise<Sample[]>;
}

async function api<T>(url: string, path: string, params: Record<string, string>): Promise<ApiResponse<T>> {
  // POST form: long PromQL stays out of the URL, as Grafana's Prometheus datasource does (httpMethod POST).
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return (await res.json()) as ApiResponse<T>;
}

export async function startPrometheus(t: TestContext, config: PromConfig): Promise<TestPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { prometheus } = await stackBinaries();
  await startDaemon(t, {
    name: 'prometheus',
    binary: prometheus,
    dir,
    url,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
      '--log.level=warn',
    ],
  });

  const self: TestPrometheus = {
    url,
    query: (expr, time) =>
      api(url, '/api/v1/query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) }),
    queryRange: (expr, start, end, step) =>
      api(url, '/api/v1/query_range', {
        query: expr,
        start: String(start),
        end: String(end),
        step: String(step),
      }),
    async exemplars(expr, start, end) {
      const r = await api<ExemplarSeries[]>(url, '/api/v1/query_exemplars', {
        query: expr,
        start: String(start),
        end: String(end),
      });
      if (r.status !== 'success') throw new Error(`query_exemplars ${expr}: ${r.error}`);
      return r.data;
    },
    async rules() {
      const r = (await (await fetch(`${url}/api/v1/rules`)).json()) as ApiResponse<{ groups: RuleGroup[] }>;
      if (r.status !== 'success') throw new Error(`rules: ${r.error}`);
      return r.data.groups;
    },
    async waitFor(expr, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await self.query(expr);
        if (r.status === 'success' && r.data.result.length > 0) return r.data.result;
        if (Date.now() > deadline)
          throw new Error(`no result for ${expr} within ${timeoutMs} ms (${r.error ?? 'empty'})`);
        await sleep(250);
      }
    },
  };
  return self;
}
