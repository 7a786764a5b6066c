// Alert routing in Kubernetes: the AlertmanagerConfig is picked up like the PrometheusRules, routes
// exactly as the compose Alertmanager (which amtool and the real Alertmanager check in test/stack), and
// the rules' links carry the configured base URLs.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ALERTMANAGER_FILE, LINK_BASES, WEBHOOK_URL_KEY } from '../../deploy/src/alerting.ts';
import { LINK_LABELS } from '../stack/support/alerts.ts';
import { apiObjects, type K8sObject, only, readManifest } from './support.ts';

const objects = apiObjects();
const config = only(objects, 'AlertmanagerConfig');
const rules = objects.filter((o) => o.kind === 'PrometheusRule');
const compose = parse(readFileSync(ALERTMANAGER_FILE, 'utf8'));

/** A CRD matcher back in Alertmanager's text form. */
const text = (m: { name: string; matchType: string; value: string }) => `${m.name}${m.matchType}"${m.value}"`;

test('when the AlertmanagerConfig is read, then it carries every label the PrometheusRules share, so the selector that picks the rules picks it', () => {
  assert.equal(config.apiVersion, 'monitoring.coreos.com/v1alpha1');
  assert.ok(rules.length > 0);
  for (const rule of rules)
    for (const [k, v] of Object.entries<string>(rule.metadata.labels))
      if (k !== 'prometheus-rule-file') assert.equal(config.metadata.labels[k], v, `label ${k}`);
});

test("when its route is read, then it takes this service's alerts only and routes, groups and inhibits exactly as alertmanager/alertmanager.yml", () => {
  const job = only(objects, 'Service').metadata.name;
  const top = config.spec.route;
  assert.deepEqual(top.matchers.map(text), [`job="${job}"`]);
  assert.deepEqual(top.groupBy, compose.route.group_by);
  assert.deepEqual(top.groupBy, ['alertname', 'job']);
  assert.equal(top.receiver, compose.route.receiver);
  assert.equal(top.groupWait, compose.route.group_wait);
  assert.equal(top.groupInterval, compose.route.group_interval);
  assert.equal(top.repeatInterval, compose.route.repeat_interval);
  assert.deepEqual(
    top.routes.map((r: K8sObject) => ({
      receiver: r.receiver,
      matchers: r.matchers.map(text),
      repeat: r.repeatInterval,
    })),
    compose.route.routes.map((r: K8sObject) => ({
      receiver: r.receiver,
      matchers: r.matchers,
      repeat: r.repeat_interval,
    })),
  );
  assert.deepEqual(
    config.spec.inhibitRules.map((r: K8sObject) => ({
      source: r.sourceMatch.map(text),
      target: r.targetMatch.map(text),
      equal: r.equal,
    })),
    compose.inhibit_rules.map((r: K8sObject) => ({
      source: r.source_matchers,
      target: r.target_matchers,
      equal: r.equal,
    })),
  );
});

test('when a notification is sent, then every receiver posts to the webhook URL in the Secret the operator creates from secret.example.yaml', () => {
  const [secret] = readManifest('secret.example.yaml');
  assert.deepEqual(
    config.spec.receivers.map((r: K8sObject) => r.name),
    compose.receivers.map((r: K8sObject) => r.name),
  );
  for (const receiver of config.spec.receivers) {
    assert.ok(receiver.webhookConfigs.length > 0, receiver.name);
    for (const hook of receiver.webhookConfigs) {
      assert.deepEqual(hook.urlSecret, { name: secret?.metadata.name, key: WEBHOOK_URL_KEY });
      assert.equal(hook.sendResolved, true);
    }
  }
  assert.match(String(secret?.stringData[WEBHOOK_URL_KEY]), /^https:\/\/replace-with/);
});

test("when the PrometheusRule's alerts are read, then their links carry the Kubernetes base URLs and no template a cluster Prometheus would have to fill", () => {
  assert.deepEqual(Object.keys(LINK_BASES).sort(), Object.values(LINK_LABELS).sort());
  for (const base of Object.values(LINK_BASES)) assert.match(base, /^https:\/\/[^/]+(\/.*[^/])?$/);
  const alerts = rules
    .flatMap((r) => r.spec.groups.flatMap((g: K8sObject) => g.rules))
    .filter((r: K8sObject) => r.alert);
  assert.ok(alerts.length >= 13);
  for (const alert of alerts) {
    assert.equal(alert.annotations.runbook_url, `${LINK_BASES.runbooks_url}/${alert.alert}.md`);
    assert.ok(
      String(alert.annotations.dashboard_url).startsWith(`${LINK_BASES.grafana_url}/d/`),
      `${alert.alert}: ${alert.annotations.dashboard_url}`,
    );
    for (const value of Object.values<string>(alert.annotations))
      assert.doesNotMatch(value, /\$externalLabels/);
  }
});
