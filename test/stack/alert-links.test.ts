// Every alert leads somewhere: a runbook in docs/runbooks and a dashboard that exists, opened with the
// alert's own labels as variables, both built on the base URLs prometheus.yml configures. The runbooks'
// queries run against a real Prometheus in alerting.test.ts; promtool renders the links in
// prometheus/tests/alerts.test.yml.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  type AlertRule,
  alertRules,
  firingLabels,
  LINK_LABELS,
  linkProblems,
  RUNBOOKS_DIR,
  runbookFiles,
  runbookProblems,
} from './support/alerts.ts';
import { loadDashboards } from './support/dashboards.ts';
import { PROMETHEUS_DIR } from './support/paths.ts';
import { composePrometheusConfig } from './support/prometheus.ts';

const rules = alertRules();
const dashboards = loadDashboards();
const firing = firingLabels();

test('when the alert rules are read, then every alert has a runbook_url and a dashboard_url that lead to a runbook and a dashboard variable that exist', () => {
  assert.ok(rules.length >= 15, `expected the full alert set, found ${rules.map((r) => r.alert)}`);
  const problems = rules.flatMap((r) =>
    linkProblems(r, dashboards, firing.get(r.alert) ?? []).map((p) => `${r.alert}: ${p}`),
  );
  assert.deepEqual(problems, []);
});

test('when a link is broken on purpose, then the checker names what is wrong (it can fail)', () => {
  const rule = structuredClone(rules.find((r) => r.alert === 'RateLimiterDegraded')) as AlertRule;
  const labels = firing.get(rule.alert) ?? [];
  const broken = (change: (r: AlertRule) => void) => {
    const copy = structuredClone(rule);
    change(copy);
    return linkProblems(copy, dashboards, labels).join('; ');
  };
  assert.equal(
    broken(() => {}),
    '',
  );
  assert.match(
    broken((r) => delete r.annotations?.runbook_url),
    /no runbook_url/,
  );
  assert.match(
    broken((r) => delete r.annotations?.dashboard_url),
    /no dashboard_url/,
  );
  assert.match(
    broken((r) => {
      r.alert = 'NoSuchAlert';
    }),
    /docs\/runbooks\/NoSuchAlert\.md is missing/,
  );
  const url = rule.annotations?.dashboard_url ?? '';
  assert.match(
    broken((r) => {
      (r.annotations as Record<string, string>).dashboard_url = url.replace(/\/d\/[^?]+/, '/d/no-such-uid');
    }),
    /uid no-such-uid, which no dashboard has/,
  );
  assert.match(
    broken((r) => {
      (r.annotations as Record<string, string>).dashboard_url = `${url}&var-tier={{ $labels.tier }}`;
    }),
    /has no variable tier/,
  );
  assert.match(
    broken((r) => {
      (r.annotations as Record<string, string>).dashboard_url = url.replace(
        '{{ $externalLabels.grafana_url }}',
        'http://localhost:3300',
      );
    }),
    /is not \{\{ \$externalLabels\.grafana_url \}\}\/d\/<uid>/,
  );
  assert.match(
    broken((r) => {
      (r.annotations as Record<string, string>).dashboard_url = url.replace('{{ $labels.job }}', 'items-api');
    }),
    /variable job is the literal items-api, not a label the rule sets/,
  );
  // A label the alert does not have (AuthFailureBurst aggregates by job only) renders empty: refused.
  const auth = rules.find((r) => r.alert === 'AuthFailureBurst') as AlertRule;
  const withInstance = structuredClone(auth);
  (withInstance.annotations as Record<string, string>).dashboard_url +=
    '&var-instance={{ $labels.instance }}';
  assert.match(
    linkProblems(withInstance, dashboards, firing.get(auth.alert) ?? []).join(),
    /label instance is not on the alert/,
  );
});

test('when the runbooks are read, then there is one per alert, none without an alert, each with the five sections and its dashboard and panel', () => {
  assert.deepEqual(runbookFiles(), rules.map((r) => r.alert).sort());
  const index = readFileSync(join(RUNBOOKS_DIR, 'README.md'), 'utf8');
  for (const r of rules)
    assert.ok(index.includes(`](${r.alert}.md)`), `docs/runbooks/README.md does not list ${r.alert}`);
  const problems = rules.flatMap((r) =>
    runbookProblems(r, readFileSync(join(RUNBOOKS_DIR, `${r.alert}.md`), 'utf8'), dashboards).map(
      (p) => `docs/runbooks/${r.alert}.md: ${p}`,
    ),
  );
  assert.deepEqual(problems, []);
  // The checker itself refuses a runbook that lost a section or names a panel that does not exist.
  const rule = rules.find((r) => r.alert === 'HeapNearLimit') as AlertRule;
  const text = readFileSync(join(RUNBOOKS_DIR, 'HeapNearLimit.md'), 'utf8');
  assert.match(
    runbookProblems(rule, text.replace('## What to do', '## Notes'), dashboards).join(),
    /What to do/,
  );
  assert.match(
    runbookProblems(
      rule,
      text.replace('panel **Heap used / limit**', 'panel **Heap gauge**'),
      dashboards,
    ).join(),
    /names panel "Heap gauge"/,
  );
});

test('when the base URLs are configured, then prometheus.yml sets both as absolute URLs, the rules use no other external label, and the unit tests render them', () => {
  const external: Record<string, string> = composePrometheusConfig().global.external_labels;
  for (const label of Object.values(LINK_LABELS)) {
    const url = external[label];
    assert.ok(url, `prometheus.yml global.external_labels has no ${label}`);
    assert.match(url, /^https?:\/\/[^/]+(\/.*[^/])?$/, `${label}: ${url} (absolute, no trailing slash)`);
  }
  const used = new Set(
    rules.flatMap((r) =>
      Object.values(r.annotations ?? {}).flatMap((a) =>
        [...a.matchAll(/\$externalLabels\.(\w+)/g)].map((m) => m[1]),
      ),
    ),
  );
  assert.deepEqual([...used].sort(), Object.values(LINK_LABELS).sort());
  // promtool takes external labels per test group: each renders the links from both base URLs.
  const unit = parse(readFileSync(join(PROMETHEUS_DIR, 'tests', 'alerts.test.yml'), 'utf8'));
  for (const group of unit.tests as { name: string; external_labels?: Record<string, string> }[])
    assert.deepEqual(
      Object.keys(group.external_labels ?? {}).sort(),
      Object.values(LINK_LABELS).sort(),
      group.name,
    );
});
