// What prometheus-operator and Grafana pick up: a ServiceMonitor (OpenMetrics, so exemplars arrive),
// the compose stack's rule files as PrometheusRules, and the dashboards as sidecar ConfigMaps.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  type IPrometheusRule,
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { ConfigMap } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { withLinkBases } from './alerting.ts';
import { meta, NAME, SELECTOR_LABELS } from './identity.ts';

const ROOT = join(import.meta.dirname, '..', '..');
export const RULES_DIR = join(ROOT, 'prometheus', 'rules');
export const DASHBOARDS_DIR = join(ROOT, 'grafana', 'dashboards');

/** The service's scrape path on the metrics port (service/src/observability/metrics/metrics-server.ts). */
export const METRICS_PATH = '/metrics';

export function serviceMonitor() {
  return new ServiceMonitor({
    // No jobLabel: the job is the Service's name, which the rules' job="..." matchers select.
    metadata: meta(),
    spec: {
      selector: { matchLabels: { ...SELECTOR_LABELS } },
      // The service answers OpenMetrics (with exemplars) only when asked first. Prometheus >= 2.49.
      scrapeProtocols: ['OpenMetricsText1.0.0', 'OpenMetricsText0.0.1', 'PrometheusText0.0.4'],
      endpoints: [{ port: 'metrics', path: METRICS_PATH, interval: '15s', scrapeTimeout: '10s' }],
    },
  });
}

type RuleGroups = NonNullable<NonNullable<IPrometheusRule['spec']>['groups']>;

/** The rule files the compose Prometheus loads, by file name (sorted). */
export function ruleFiles(): string[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort();
}

/**
 * One PrometheusRule per file, groups copied as they are (one source of truth for both stacks), except
 * the alerts' links, whose base URLs are written in (alerting.ts, LINK_BASES).
 */
export function prometheusRules() {
  return ruleFiles().map((file) => {
    const { groups } = parse(readFileSync(join(RULES_DIR, file), 'utf8')) as { groups: RuleGroups };
    for (const rule of groups.flatMap((g) => g.rules ?? []))
      if (rule.annotations)
        rule.annotations = Object.fromEntries(
          Object.entries(rule.annotations).map(([k, v]) => [k, withLinkBases(v)]),
        );
    return new PrometheusRule({
      metadata: meta(basename(file).replace(/\.ya?ml$/, ''), { 'prometheus-rule-file': file }),
      spec: { groups },
    });
  });
}

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/**
 * One ConfigMap per dashboard, labelled for Grafana's dashboard sidecar (kube-prometheus-stack's
 * default label). Each stays far below the 256 KiB that client-side `kubectl apply` can annotate.
 */
export function dashboardConfigMaps() {
  return dashboardFiles().map(
    (file) =>
      new ConfigMap({
        metadata: {
          ...meta(`dashboard-${basename(file, '.json')}`, { grafana_dashboard: '1' }),
          annotations: { grafana_folder: NAME },
        },
        data: { [file]: readFileSync(join(DASHBOARDS_DIR, file), 'utf8') },
      }),
  );
}
