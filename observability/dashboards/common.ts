// Shared pieces of the dashboards-as-code: datasources, variables, selectors and panel helpers.
// @see https://github.com/grafana/grafana-foundation-sdk (TypeScript builders, emitted as dashboard JSON)
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  TextBoxVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

/** The Prometheus datasource is chosen by the `datasource` variable; the e2e test checks its type. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable reference, not a JS template.
export const PROMETHEUS = { type: 'prometheus', uid: '${datasource}' } as const;
/** Loki has a fixed uid (grafana/provisioning/datasources/datasources.yaml). */
export const LOKI = { type: 'loki', uid: 'loki' } as const;

/** The service's OTel `service.name`, which Loki keeps as the `service_name` label of OTLP logs. */
export const SERVICE_NAME = 'items-api';

/** Every per-replica query carries this selector, so the job and instance pickers filter all panels. */
export const SEL = 'job="$job", instance=~"$instance"';

export const HTTP_DURATION = 'http_server_request_duration_seconds';

export function variables() {
  return [
    new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'),
    new QueryVariableBuilder('job')
      .label('Job')
      .datasource(PROMETHEUS)
      .query('label_values(service_build_info, job)')
      .current({ text: 'items-api', value: 'items-api' })
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc),
    // One line per replica of `docker compose up --scale api=N`; "All" aggregates them.
    new QueryVariableBuilder('instance')
      .label('Replica')
      .datasource(PROMETHEUS)
      .query('label_values(service_build_info{job="$job"}, instance)')
      .multi(true)
      .includeAll(true)
      .allValue('.+')
      .current({ text: 'All', value: '$__all' })
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc),
  ];
}

export function dashboard(uid: string, title: string, description: string) {
  return new DashboardBuilder(`items-api: ${title}`)
    .uid(uid)
    .description(description)
    .tags(['items-api', 'generated'])
    .time({ from: 'now-30m', to: 'now' })
    .refresh('30s')
    .tooltip(DashboardCursorSync.Crosshair)
    .readonly()
    .link(
      new DashboardLinkBuilder('items-api dashboards')
        .type(DashboardLinkType.Dashboards)
        .tags(['items-api'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .variables(variables());
}

/** A trace id typed or pasted by the user; the logs panel follows it. */
export function traceIdVariable() {
  return new TextBoxVariableBuilder('trace_id')
    .label('Trace id (logs panel)')
    .description('Paste a trace id (an exemplar, a problem+json traceId) to see only its log lines.');
}

/** A Prometheus target; `withTargets` gives it its refId. */
export function prom(expr: string, legend = '', opts: { exemplar?: boolean; instant?: boolean } = {}) {
  const q = new DataqueryBuilder().datasource(PROMETHEUS).expr(expr);
  if (legend) q.legendFormat(legend);
  if (opts.exemplar) q.exemplar(true);
  if (opts.instant) q.instant();
  else q.range();
  return q;
}

interface Targetable<Q> {
  withTarget(target: Q): unknown;
}
interface RefIdable {
  refId(refId: string): unknown;
}

/** Adds the targets to the panel with refIds A, B, C... (Grafana needs one per target). */
export function withTargets<P extends Targetable<Q>, Q extends RefIdable>(panel: P, targets: Q[]): P {
  targets.forEach((t, i) => {
    t.refId(String.fromCharCode(65 + i));
    panel.withTarget(t);
  });
  return panel;
}

export function prometheusHeatmapQuery(expr: string) {
  return prom(expr, '{{le}}', { exemplar: true }).format(PromQueryFormat.Heatmap);
}

export function legend() {
  return new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom);
}

export function timeseries(title: string, description: string, unit: string) {
  return new TimeseriesPanel()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .unit(unit)
    .legend(legend())
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi))
    .fillOpacity(10)
    .lineWidth(1)
    .height(8)
    .span(12);
}

/** rate() over the panel's interval, summed by the given labels. */
export function rateBy(by: string, metric: string, extra = ''): string {
  const selector = extra ? `${SEL}, ${extra}` : SEL;
  return `sum by (${by}) (rate(${metric}{${selector}}[$__rate_interval]))`;
}

/** A latency quantile from a classic histogram, per the given labels (le is added). */
export function quantile(q: number, metric: string, by = '', extra = ''): string {
  const selector = extra ? `${SEL}, ${extra}` : SEL;
  const labels = by ? `le, ${by}` : 'le';
  return `histogram_quantile(${q}, sum by (${labels}) (rate(${metric}_bucket{${selector}}[$__rate_interval])))`;
}
