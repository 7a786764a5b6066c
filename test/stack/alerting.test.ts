// The alert path end to end, all real: the service with its own Redis, Prometheus 3 on the project's
// rules, Alertmanager on the compose config, a webhook stand-in for the on-call. Redis and then the
// service are killed; only time is shortened (FOR_SCALE, support/alertmanager.ts's group timers).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { startRedis } from '../support/redis-server.ts';
import { startServiceProcess } from '../support/service-process.ts';
import { startAlertmanager } from './support/alertmanager.ts';
import { alertRules, LINK_LABELS, RUNBOOKS_DIR, runbookQuery } from './support/alerts.ts';
import { loadDashboards } from './support/dashboards.ts';
import { PROMETHEUS_DIR } from './support/paths.ts';
import { composePrometheusConfig, JOB, startPrometheus, testPrometheusConfig } from './support/prometheus.ts';
import { type Notification, startWebhookReceiver } from './support/webhook-receiver.ts';

// Dividing every `for:` keeps their order: ServiceDown (1m -> 3 s) fires before the ScrapeTargetDown
// (2m -> 6 s) it inhibits, as in production.
const FOR_SCALE = 20;

function seconds(duration: string): number {
  const m = /^(\d+)([smh])$/.exec(duration);
  if (!m) throw new Error(`unexpected duration ${duration}`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

/** alerts.yml with every `for:` divided by FOR_SCALE, written to `dir`; expressions and labels untouched. */
function renderFastRules(dir: string): string {
  const file = parse(readFileSync(join(PROMETHEUS_DIR, 'rules', 'alerts.yml'), 'utf8'));
  for (const group of file.groups)
    for (const rule of group.rules)
      if (rule.for !== undefined) rule.for = `${Math.max(1, Math.round(seconds(rule.for) / FOR_SCALE))}s`;
  const path = join(dir, 'alerts.yml');
  writeFileSync(path, stringify(file, { lineWidth: 0 }));
  return path;
}

test('when Redis and then the service fail under the real Prometheus and Alertmanager, then the on-call gets one grouped notification with runbook and dashboard links, a resolve, and nothing that is inhibited', async (t) => {
  const began = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'alerting-rules-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const [redis, webhook] = await Promise.all([startRedis(t), startWebhookReceiver(t)]);
  const [service, am] = await Promise.all([
    startServiceProcess(t, { REDIS_URL: redis.url }),
    startAlertmanager(t, webhook.url),
  ]);
  const instance = new URL(service.metricsUrl).host;
  const prometheus = await startPrometheus(
    t,
    testPrometheusConfig(instance, '1s', {
      alertmanager: new URL(am.url).host,
      ruleFiles: { 'rules/alerts.yml': renderFastRules(dir) },
    }),
  );
  await prometheus.waitFor('rate_limit_degraded{tier="admin"} == 0', 20_000);

  // The links are built on the base URLs prometheus.yml configures, nothing the test sets.
  const external: Record<string, string> = composePrometheusConfig().global.external_labels;
  const runbookBase = external[LINK_LABELS.runbooks];
  const grafanaBase = external[LINK_LABELS.grafana];
  const uids = new Set(loadDashboards().map((d) => d.uid));

  await t.test(
    'when the runbooks are read, then every query they give to confirm an alert runs on this Prometheus',
    async () => {
      for (const rule of alertRules()) {
        const query = runbookQuery(readFileSync(join(RUNBOOKS_DIR, `${rule.alert}.md`), 'utf8'));
        assert.ok(query, `${rule.alert}: no query`);
        const r = await prometheus.query(query);
        assert.equal(r.status, 'success', `${rule.alert}: ${query}: ${r.error}`);
      }
    },
  );

  const groupOf = (alertname: string, status: Notification['status']) => (n: Notification) =>
    n.groupLabels.alertname === alertname && n.status === status;
  let degradedGroupKey = '';

  await t.test(
    'when Redis is killed, then one notification lists every degraded tier, with the runbook and the dashboard of the replica',
    async () => {
      await redis.kill();
      const n = await webhook.waitFor(groupOf('RateLimiterDegraded', 'firing'), 45_000);
      degradedGroupKey = n.groupKey;
      assert.equal(n.receiver, 'ticket', 'a warning opens a ticket, it pages nobody');
      assert.deepEqual(n.groupLabels, { alertname: 'RateLimiterDegraded', job: JOB });
      assert.deepEqual(n.alerts.map((a) => a.labels.tier).sort(), ['admin', 'api', 'general']);
      for (const a of n.alerts) {
        assert.equal(a.status, 'firing');
        assert.equal(a.labels.instance, instance);
        assert.equal(a.labels.dependency, 'redis');
        // The link bases stay out of the alert's identity (prometheus.yml drops them before sending).
        assert.deepEqual(
          Object.keys(a.labels).filter((l) => (Object.values(LINK_LABELS) as string[]).includes(l)),
          [],
        );
        assert.equal(a.annotations.runbook_url, `${runbookBase}/RateLimiterDegraded.md`);
        assert.equal(
          a.annotations.dashboard_url,
          `${grafanaBase}/d/items-api-security?var-job=${JOB}&var-instance=${instance}`,
        );
        assert.ok(uids.has(new URL(a.annotations.dashboard_url ?? '').pathname.split('/')[2] ?? ''));
      }
      // Only the admin tier's 503s burn the availability SLO, so only its alert names it (inhibition key).
      const slo = Object.fromEntries(n.alerts.map((a) => [a.labels.tier, a.labels.slo]));
      assert.deepEqual(slo, { admin: 'availability', api: undefined, general: undefined });
      await sleep(3_000); // a group update would come within group_interval (2 s)
      assert.equal(
        webhook.notifications.filter((x) => x.groupKey === n.groupKey).length,
        1,
        'one notification',
      );
    },
  );

  await t.test('when Redis is back, then a resolved notification follows for the same group', async () => {
    await redis.restart();
    const n = await webhook.waitFor(groupOf('RateLimiterDegraded', 'resolved'), 45_000);
    assert.equal(n.groupKey, degradedGroupKey);
    assert.deepEqual(n.alerts.map((a) => `${a.labels.tier}:${a.status}`).sort(), [
      'admin:resolved',
      'api:resolved',
      'general:resolved',
    ]);
    assert.equal(n.alerts[0]?.annotations.runbook_url, `${runbookBase}/RateLimiterDegraded.md`);
  });

  await t.test(
    "when the service is killed, then ServiceDown pages and the replica's ScrapeTargetDown, firing in Prometheus, is inhibited and never arrives",
    async () => {
      service.child.kill('SIGKILL');
      const n = await webhook.waitFor(groupOf('ServiceDown', 'firing'), 45_000);
      assert.equal(n.receiver, 'page');
      assert.equal(n.alerts[0]?.annotations.runbook_url, `${runbookBase}/ServiceDown.md`);
      assert.equal(
        n.alerts[0]?.annotations.dashboard_url,
        `${grafanaBase}/d/items-api-overview?var-job=${JOB}`,
      );

      await prometheus.waitFor('ALERTS{alertname="ScrapeTargetDown", alertstate="firing"}', 30_000);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const held = (await am.alerts()).find((a) => a.labels.alertname === 'ScrapeTargetDown');
        if (held && held.status.inhibitedBy.length > 0) {
          assert.equal(held.labels.instance, instance);
          break;
        }
        assert.ok(
          Date.now() < deadline,
          `Alertmanager did not inhibit ScrapeTargetDown: ${JSON.stringify(held)}`,
        );
        await sleep(250);
      }
      await sleep(4_000); // past group_wait (1 s) and a group_interval (2 s): it would have been sent by now
      const arrived = webhook.notifications.flatMap((x) => x.alerts.map((a) => a.labels.alertname));
      assert.ok(!arrived.includes('ScrapeTargetDown'), `inhibited alert delivered: ${arrived}`);
    },
  );

  t.diagnostic(`alert path end to end in ${((performance.now() - began) / 1000).toFixed(1)} s`);
});
