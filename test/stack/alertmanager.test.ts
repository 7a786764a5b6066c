// Alertmanager's configuration, checked by the real amtool and Alertmanager (0.35, built by
// scripts/stack-binaries.sh at the compose image's release): every config is valid, each alert's
// severity reaches the receiver the on-call expects, and the inhibition rules silence what they claim
// and nothing else. The whole path from Prometheus is alerting.test.ts.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual, promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { stackBinaries } from '../support/stack-binaries.ts';
import {
  ALERTMANAGER_CONFIG,
  composeAlertmanagerConfig,
  startAlertmanager,
  testAlertmanagerConfig,
  WEBHOOK_URL_FILE,
} from './support/alertmanager.ts';
import { alertRules, firingLabels } from './support/alerts.ts';
import { COMPOSE_FILE, ROOT } from './support/paths.ts';
import { composePrometheusConfig } from './support/prometheus.ts';
import { startWebhookReceiver } from './support/webhook-receiver.ts';

const run = promisify(execFile);

async function amtool(...args: string[]): Promise<string> {
  const { amtool } = await stackBinaries();
  try {
    const { stdout, stderr } = await run(amtool, args);
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`amtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/** The receivers the end of alertmanager.yml documents for Slack, PagerDuty and email, uncommented. */
function documentedReceivers(): unknown[] {
  const text = readFileSync(ALERTMANAGER_CONFIG, 'utf8');
  const block = text.slice(text.indexOf('# Swapping in another receiver'));
  const yaml = block
    .split('\n')
    .filter((l) => l.startsWith('#   '))
    .map((l) => l.slice(3))
    .join('\n');
  return parse(yaml) as unknown[];
}

function withTempFile<T>(name: string, text: string, use: (path: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'amtool-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return use(path).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('when amtool checks every Alertmanager config (compose, the test copy, the documented Slack/PagerDuty/email receivers), then each is valid', async () => {
  const compose = await amtool('check-config', ALERTMANAGER_CONFIG);
  assert.match(compose, /SUCCESS/);
  assert.match(compose, /3 inhibit rules/);
  assert.match(compose, /2 receivers/);

  await withTempFile(
    'alertmanager.yml',
    stringify(testAlertmanagerConfig('/tmp/webhook-url')),
    async (path) => {
      assert.match(await amtool('check-config', path), /SUCCESS/);
    },
  );

  const swapped = composeAlertmanagerConfig();
  swapped.receivers = documentedReceivers();
  assert.deepEqual(
    swapped.receivers.map((r: { name: string }) => r.name),
    ['page', 'ticket'],
  );
  const out = await withTempFile('alertmanager.yml', stringify(swapped), (path) =>
    amtool('check-config', path),
  );
  assert.match(out, /SUCCESS/);

  // amtool really refuses: a route to a receiver that does not exist.
  const broken = composeAlertmanagerConfig();
  broken.route.routes[0].receiver = 'nobody';
  await assert.rejects(
    withTempFile('alertmanager.yml', stringify(broken), (path) => amtool('check-config', path)),
    /undefined receiver "nobody"/,
  );
});

test('when each alert of the rules is routed by amtool, then severity decides: page to the page receiver, ticket and warning to the ticket receiver, fast burns page and slow burns open tickets', async () => {
  const expected: Record<string, string> = { page: 'page', ticket: 'ticket', warning: 'ticket' };
  const firing = firingLabels();
  const seen: Record<string, string> = {};
  for (const rule of alertRules()) {
    const severity = rule.labels?.severity ?? '';
    assert.ok(severity in expected, `${rule.alert}: severity ${severity} has no route`);
    // The labels the alert really has (its unit test), so a route on another label would show here.
    const labels = { ...(firing.get(rule.alert)?.[0] ?? {}), alertname: rule.alert };
    const args = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const out = await amtool(
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_CONFIG}`,
      `--verify.receivers=${expected[severity]}`,
      ...args,
    );
    seen[rule.alert] = out.trim();
  }
  for (const speed of ['Fast', 'Slow'])
    for (const slo of ['Availability', 'Latency'])
      assert.equal(seen[`SLO${slo}BurnRate${speed}`], speed === 'Fast' ? 'page' : 'ticket');
  assert.equal(seen.ServiceDown, 'page');
  assert.equal(seen.RateLimiterDegraded, 'ticket');
});

test('when alerts reach the real Alertmanager together, then ServiceDown silences the per-replica alerts of its job, a dependency alert the burn rate of the SLO it explains, and nothing else', async (t) => {
  const webhook = await startWebhookReceiver(t);
  const am = await startAlertmanager(t, webhook.url);
  // Two services, so each rule is seen alone: `items-api` is down, `orders-api` has a Redis outage.
  const down = (labels: Record<string, string>) => ({ labels: { job: 'items-api', ...labels } });
  const deps = (labels: Record<string, string>) => ({ labels: { job: 'orders-api', ...labels } });
  await am.post([
    down({ alertname: 'ServiceDown', severity: 'page' }),
    down({ alertname: 'ScrapeTargetDown', severity: 'warning', instance: 'api-1:9464' }),
    down({ alertname: 'HeapNearLimit', severity: 'warning', instance: 'api-1:9464' }),
    // Another service's replica is not silenced by this service being down.
    deps({ alertname: 'ScrapeTargetDown', severity: 'warning', instance: 'orders-1:9464' }),
    // Redis down: the admin tier fails closed, which explains a slow availability burn; a fast burn
    // still pages (a warning never replaces a page), and the latency SLO is not its to explain.
    deps({
      alertname: 'RateLimiterDegraded',
      severity: 'warning',
      dependency: 'redis',
      slo: 'availability',
      tier: 'admin',
      instance: 'orders-1:9464',
    }),
    deps({ alertname: 'SLOAvailabilityBurnRateSlow', severity: 'ticket', slo: 'availability' }),
    deps({ alertname: 'SLOAvailabilityBurnRateFast', severity: 'page', slo: 'availability' }),
    deps({ alertname: 'SLOLatencyBurnRateSlow', severity: 'ticket', slo: 'latency' }),
    // A paging dependency alert (the scheme's other half) silences both burn speeds of its SLO.
    down({ alertname: 'PagingDependencyDown', severity: 'page', dependency: 'postgresql', slo: 'latency' }),
    down({ alertname: 'SLOLatencyBurnRateFast', severity: 'page', slo: 'latency' }),
  ]);

  const stateOf = async () => {
    const out: Record<string, string> = {};
    for (const a of await am.alerts())
      out[`${a.labels.alertname}/${a.labels.job}${a.labels.instance ? `/${a.labels.instance}` : ''}`] =
        a.status.inhibitedBy.length > 0 ? 'inhibited' : a.status.state;
    return out;
  };
  const expected = {
    'ServiceDown/items-api': 'active',
    'ScrapeTargetDown/items-api/api-1:9464': 'inhibited',
    'HeapNearLimit/items-api/api-1:9464': 'inhibited',
    'ScrapeTargetDown/orders-api/orders-1:9464': 'active',
    'RateLimiterDegraded/orders-api/orders-1:9464': 'active',
    'SLOAvailabilityBurnRateSlow/orders-api': 'inhibited',
    'SLOAvailabilityBurnRateFast/orders-api': 'active',
    'SLOLatencyBurnRateSlow/orders-api': 'active',
    'PagingDependencyDown/items-api': 'active',
    'SLOLatencyBurnRateFast/items-api': 'inhibited',
  };
  // Alertmanager marks an alert inhibited when its dispatcher has processed it, not when it is posted:
  // poll until the marks settle (seen once in CI: one inhibited alert still read active right after the post).
  let state = await stateOf();
  for (const deadline = Date.now() + 10_000; !isDeepStrictEqual(state, expected) && Date.now() < deadline; ) {
    await sleep(100);
    state = await stateOf();
  }
  assert.deepEqual(state, expected);
  // What is active is delivered, what is inhibited is not (one group per alert name and service).
  await webhook.waitFor((n) => n.groupLabels.alertname === 'SLOAvailabilityBurnRateFast', 10_000);
  await webhook.waitFor((n) => n.groupLabels.alertname === 'ServiceDown' && n.receiver === 'page', 10_000);
  await webhook.waitFor((n) => n.groupLabels.alertname === 'SLOLatencyBurnRateSlow', 10_000);
  const delivered = new Set(webhook.notifications.flatMap((n) => n.alerts.map((a) => a.labels.alertname)));
  for (const silenced of ['HeapNearLimit', 'SLOAvailabilityBurnRateSlow', 'SLOLatencyBurnRateFast'])
    assert.ok(!delivered.has(silenced), `${silenced} was delivered although inhibited`);
});

test('when compose runs Alertmanager, then it is the built release, reads the mounted config and the webhook URL from ALERTMANAGER_WEBHOOK_URL, and Prometheus sends to it', async () => {
  const compose = parse(readFileSync(COMPOSE_FILE, 'utf8'));
  const service = compose.services.alertmanager;
  const tag = String(service.image).replace(/^prom\/alertmanager:v/, '');
  assert.match(tag, /^0\.\d+\.\d+$/, service.image);
  const { alertmanager, amtool: amtoolPath } = await stackBinaries();
  for (const bin of [alertmanager, amtoolPath]) {
    const { stdout, stderr } = await run(bin, ['--version']);
    assert.match(stdout + stderr, new RegExp(`version ${tag.replaceAll('.', '\\.')}\\b`), bin);
  }
  const script = readFileSync(join(ROOT, 'scripts', 'stack-binaries.sh'), 'utf8');
  assert.match(script, new RegExp(`^ALERTMANAGER_VERSION=${tag.replaceAll('.', '\\.')}\\b`, 'm'));

  const configArg = (service.command as string[]).find((a) => a.startsWith('--config.file='))?.split('=')[1];
  assert.ok(
    (service.volumes as string[]).includes(`./alertmanager/alertmanager.yml:${configArg}:ro`),
    'alertmanager/alertmanager.yml is mounted where --config.file points',
  );
  const mounted = (service.configs as { source: string; target: string }[]).find(
    (c) => c.target === WEBHOOK_URL_FILE,
  );
  assert.ok(mounted, `nothing mounted at ${WEBHOOK_URL_FILE}`);
  assert.match(compose.configs[mounted.source].content, /^\$\{ALERTMANAGER_WEBHOOK_URL:-http[^}]+\}$/);
  for (const receiver of composeAlertmanagerConfig().receivers)
    for (const hook of receiver.webhook_configs) assert.equal(hook.url_file, WEBHOOK_URL_FILE, receiver.name);

  const targets = composePrometheusConfig().alerting.alertmanagers.flatMap(
    (a: { static_configs: { targets: string[] }[] }) => a.static_configs.flatMap((s) => s.targets),
  );
  assert.deepEqual(targets, ['alertmanager:9093']);
  assert.ok((service.ports as string[]).includes('127.0.0.1:9093:9093'));
  assert.equal(compose.services.prometheus.depends_on.alertmanager.condition, 'service_healthy');
});
