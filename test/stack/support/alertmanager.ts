// A real Alertmanager for a test (built by scripts/stack-binaries.sh at the compose image's release): the
// compose config with only the webhook URL file and, for speed, the group timers replaced; its own
// storage in a temp dir, stopped in t.after; plus the API calls the tests make.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parse, stringify } from 'yaml';
import { freePort } from '../../support/process.ts';
import { stackBinaries } from '../../support/stack-binaries.ts';
import { startDaemon } from './daemon.ts';
import { ROOT } from './paths.ts';

export const ALERTMANAGER_CONFIG = join(ROOT, 'alertmanager', 'alertmanager.yml');
/** Where compose mounts the webhook URL (docker-compose.yml `configs`), which every receiver reads. */
export const WEBHOOK_URL_FILE = '/etc/alertmanager/webhook-url';

// biome-ignore lint/suspicious/noExplicitAny: an Alertmanager config is plain parsed YAML.
type AmConfig = any;

export function composeAlertmanagerConfig(): AmConfig {
  return parse(readFileSync(ALERTMANAGER_CONFIG, 'utf8'));
}

/** Every route in the tree, the root first. */
export function routes(config: AmConfig): AmConfig[] {
  const out: AmConfig[] = [];
  const visit = (r: AmConfig) => {
    out.push(r);
    for (const child of r.routes ?? []) visit(child);
  };
  visit(config.route);
  return out;
}

/**
 * The compose config, with the receivers' url_file pointed at `urlFile` and the timers short: a group
 * waits 1 s for its first notification and 2 s between updates (resolves included), and nothing is
 * repeated within the test. Routing, grouping and inhibition stay as they are.
 */
export function testAlertmanagerConfig(urlFile: string): AmConfig {
  const config = composeAlertmanagerConfig();
  config.global.resolve_timeout = '10s';
  for (const r of routes(config)) {
    if (r.group_wait !== undefined || r === config.route) r.group_wait = '1s';
    if (r.group_interval !== undefined || r === config.route) r.group_interval = '2s';
    if (r.repeat_interval !== undefined) r.repeat_interval = '1h';
  }
  for (const receiver of config.receivers)
    for (const hook of receiver.webhook_configs ?? []) {
      if (hook.url_file !== WEBHOOK_URL_FILE)
        throw new Error(`receiver ${receiver.name}: url_file ${hook.url_file}`);
      hook.url_file = urlFile;
    }
  return config;
}

export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[]; silencedBy: string[] };
  receivers: { name: string }[];
  fingerprint: string;
}

export interface TestAlertmanager {
  readonly url: string;
  /** GET /api/v2/alerts: every alert it holds, with its inhibition state. */
  alerts(): Promise<ApiAlert[]>;
  /** POST /api/v2/alerts, as Prometheus does. */
  post(alerts: { labels: Record<string, string>; annotations?: Record<string, string> }[]): Promise<void>;
}

/** Writes the webhook URL file and the config into a temp dir and starts Alertmanager on them. */
export async function startAlertmanager(
  t: TestContext,
  webhookUrl: string,
  configure: (urlFile: string) => AmConfig = testAlertmanagerConfig,
): Promise<TestAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'alertmanager-'));
  const urlFile = join(dir, 'webhook-url');
  writeFileSync(urlFile, `${webhookUrl}\n`);
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, stringify(configure(urlFile)));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { alertmanager } = await stackBinaries();
  await startDaemon(t, {
    name: 'alertmanager',
    binary: alertmanager,
    dir,
    url,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No cluster: a single instance, and no fixed gossip port (9094) another test could hold.
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
  });

  return {
    url,
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      if (!res.ok) throw new Error(`GET /api/v2/alerts: ${res.status} ${await res.text()}`);
      return (await res.json()) as ApiAlert[];
    },
    async post(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!res.ok) throw new Error(`POST /api/v2/alerts: ${res.status} ${await res.text()}`);
    },
  };
}
