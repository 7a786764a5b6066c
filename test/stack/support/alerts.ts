// The alert rules and the links every alert carries (runbook_url, dashboard_url), read and checked the
// way prometheus/rules/alerts.yml's header describes: one checker for the static test, the end-to-end
// alerting test and the Kubernetes manifests.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { DashboardJson } from './dashboards.ts';
import { PROMETHEUS_DIR, ROOT } from './paths.ts';

export const RUNBOOKS_DIR = join(ROOT, 'docs', 'runbooks');
/** The external labels the two links are built on (prometheus.yml's global.external_labels). */
export const LINK_LABELS = { runbooks: 'runbooks_url', grafana: 'grafana_url' } as const;
export const RUNBOOK_SECTIONS = [
  'What it means',
  'How to confirm',
  'Likely causes in this service',
  'What to do',
  'How to tell it is resolved',
] as const;

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(file = join(PROMETHEUS_DIR, 'rules', 'alerts.yml')): AlertRule[] {
  const { groups } = parse(readFileSync(file, 'utf8')) as { groups: { rules: Partial<AlertRule>[] }[] };
  return groups.flatMap((g) => g.rules).filter((r): r is AlertRule => typeof r.alert === 'string');
}

/** Labels of every firing case of each alert in the promtool unit tests (what the rule really produces). */
export function firingLabels(): Map<string, Record<string, string>[]> {
  const unit = parse(readFileSync(join(PROMETHEUS_DIR, 'tests', 'alerts.test.yml'), 'utf8')) as {
    tests: {
      alert_rule_test?: { alertname: string; exp_alerts: { exp_labels?: Record<string, string> }[] }[];
    }[];
  };
  const out = new Map<string, Record<string, string>[]>();
  for (const c of unit.tests.flatMap((t) => t.alert_rule_test ?? []))
    for (const a of c.exp_alerts) out.set(c.alertname, [...(out.get(c.alertname) ?? []), a.exp_labels ?? {}]);
  return out;
}

const template = (label: string) => `{{ $externalLabels.${label} }}`;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The runbook link an alert must carry, as a template. */
export const runbookTemplate = (alert: string) => `${template(LINK_LABELS.runbooks)}/${alert}.md`;

export interface DashboardLink {
  uid: string;
  /** Grafana variable -> the alert label it is set from (`{{ $labels.<name> }}`). */
  vars: Record<string, string>;
  /** Grafana variable -> a literal value, allowed only for a label the rule sets to that value. */
  fixed: Record<string, string>;
}

/**
 * Reads `<grafana base>/d/<uid>?var-a={{ $labels.a }}&...`, or says why it is not one. A variable may
 * be a literal when the rule sets that label itself: templates see only the expression's labels, so
 * ServiceDown's `job` (absent() keeps none) must be written out.
 */
export function parseDashboardLink(
  link: string,
  ruleLabels: Record<string, string> = {},
  base = template(LINK_LABELS.grafana),
): DashboardLink | string {
  const m = new RegExp(`^${escapeRegExp(base)}/d/([A-Za-z0-9_-]+)\\?(.+)$`).exec(link);
  if (!m?.[1] || !m[2]) return `is not ${base}/d/<uid>?var-...`;
  const vars: Record<string, string> = {};
  const fixed: Record<string, string> = {};
  for (const param of m[2].split('&')) {
    const p = /^var-(\w+)=(?:\{\{ \$labels\.(\w+) \}\}|([^{}&]+))$/.exec(param);
    if (!p?.[1]) return `parameter ${param} is not var-<name>={{ $labels.<name> }}`;
    if (p[2] !== undefined) {
      if (p[1] !== p[2]) return `variable ${p[1]} is set from another label (${p[2]})`;
      vars[p[1]] = p[2];
    } else if (p[3] !== undefined && ruleLabels[p[1]] === p[3]) fixed[p[1]] = p[3];
    else return `variable ${p[1]} is the literal ${p[3]}, not a label the rule sets to it`;
  }
  return { uid: m[1], vars, fixed };
}

/** Everything wrong with one alert's links; empty when they hold. */
export function linkProblems(
  rule: AlertRule,
  dashboards: readonly DashboardJson[],
  firing: readonly Record<string, string>[],
  runbooksDir = RUNBOOKS_DIR,
): string[] {
  const problems: string[] = [];
  const { runbook_url: runbook, dashboard_url: dashboard } = rule.annotations ?? {};
  if (runbook === undefined) problems.push('no runbook_url annotation');
  else if (runbook !== runbookTemplate(rule.alert))
    problems.push(`runbook_url ${runbook} is not ${runbookTemplate(rule.alert)}`);
  if (!existsSync(join(runbooksDir, `${rule.alert}.md`)))
    problems.push(`docs/runbooks/${rule.alert}.md is missing`);
  if (dashboard === undefined) return [...problems, 'no dashboard_url annotation'];
  const link = parseDashboardLink(dashboard, rule.labels);
  if (typeof link === 'string') return [...problems, `dashboard_url ${link}`];
  const target = dashboards.find((d) => d.uid === link.uid);
  if (!target) return [...problems, `dashboard_url names uid ${link.uid}, which no dashboard has`];
  const variables = new Set(target.templating.list.map((v) => v.name));
  for (const name of Object.keys(link.fixed))
    if (!variables.has(name)) problems.push(`dashboard ${link.uid} has no variable ${name}`);
  for (const [name, label] of Object.entries(link.vars)) {
    if (!variables.has(name)) problems.push(`dashboard ${link.uid} has no variable ${name}`);
    if (firing.length === 0) problems.push('no firing unit test shows which labels the alert has');
    for (const labels of firing)
      if (!(label in labels))
        problems.push(`label ${label} is not on the alert (unit test labels: ${Object.keys(labels)})`);
  }
  if (!('job' in link.vars) && !('job' in link.fixed))
    problems.push("dashboard_url does not select the alert's job (var-job)");
  return problems;
}

/** Runbook files by alert name (README.md, the index, aside). */
export function runbookFiles(dir = RUNBOOKS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .map((f) => f.replace(/\.md$/, ''))
    .sort();
}

/** Panel titles of a dashboard, rows included. */
function panelTitles(d: DashboardJson): Set<string> {
  const out = new Set<string>();
  const visit = (panels: readonly { title: string; panels?: unknown[] }[]) => {
    for (const p of panels) {
      out.add(p.title);
      if (p.panels) visit(p.panels as { title: string }[]);
    }
  };
  visit(d.panels);
  return out;
}

/** What a runbook lacks: the five sections, and a confirmation on the alert's own dashboard and panel. */
export function runbookProblems(
  rule: AlertRule,
  markdown: string,
  dashboards: readonly DashboardJson[],
): string[] {
  const problems: string[] = [];
  if (!markdown.startsWith(`# ${rule.alert}\n`)) problems.push(`does not open with "# ${rule.alert}"`);
  const headings = [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  for (const section of RUNBOOK_SECTIONS)
    if (!headings.includes(section)) problems.push(`has no "## ${section}" section`);
  const confirm = /^## How to confirm\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1] ?? '';
  if (runbookQuery(confirm) === undefined) problems.push('"How to confirm" has no ```promql block');
  const link = parseDashboardLink(rule.annotations?.dashboard_url ?? '', rule.labels);
  const dashboard = typeof link === 'string' ? undefined : dashboards.find((d) => d.uid === link.uid);
  if (dashboard) {
    if (!confirm.includes(`**${dashboard.title}**`))
      problems.push(`does not name its dashboard **${dashboard.title}**`);
    const panels = [...confirm.matchAll(/panel \*\*(.+?)\*\*/g)].map((m) => m[1] ?? '');
    if (panels.length === 0) problems.push('names no panel ("panel **<title>**")');
    for (const p of panels)
      if (!panelTitles(dashboard).has(p))
        problems.push(`names panel "${p}", which ${dashboard.uid} does not have`);
  }
  return problems;
}

/** The first PromQL block of a runbook (a list item's block may be indented). */
export function runbookQuery(markdown: string): string | undefined {
  const m = /^([ \t]*)```promql\n([\s\S]+?)\n[ \t]*```/m.exec(markdown);
  return m?.[2]
    ?.split('\n')
    .map((l) => l.slice(m[1]?.length ?? 0))
    .join('\n');
}
