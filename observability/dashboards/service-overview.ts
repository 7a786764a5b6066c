// Service overview (Grafana's home dashboard): traffic, errors, latency with exemplars, SLOs, trace logs.
import * as common from '@grafana/grafana-foundation-sdk/common';
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { DataqueryBuilder as LokiQuery } from '@grafana/grafana-foundation-sdk/loki';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import {
  dashboard,
  HTTP_DURATION,
  LOKI,
  PROMETHEUS,
  prom,
  prometheusHeatmapQuery,
  quantile,
  rateBy,
  SEL,
  SERVICE_NAME,
  timeseries,
  traceIdVariable,
  withTargets,
} from './common.ts';

const COUNT = `${HTTP_DURATION}_count`;
const ALL = `sum(rate(${COUNT}{${SEL}}[$__rate_interval]))`;

function stat(title: string, description: string, unit: string) {
  return new StatPanel()
    .title(title)
    .description(description)
    .datasource(PROMETHEUS)
    .unit(unit)
    .graphMode(common.BigValueGraphMode.Area)
    .height(4)
    .span(6);
}

// The SLO panels read the recording rules of prometheus/rules/recording.yml: one series per job,
// whatever the replica picker says, because an objective is about the whole service.
const budgetRemaining = (slo: 'availability' | 'latency') =>
  `1 - (job:slo_${slo}_errors:ratio_rate30d{job="$job"} / on() group_left() (1 - slo:objective:ratio{slo="${slo}"}))`;
const burnRate = (slo: 'availability' | 'latency', window: string) =>
  `job:slo_${slo}_errors:ratio_rate${window}{job="$job"} / on() group_left() (1 - slo:objective:ratio{slo="${slo}"})`;

export function serviceOverview() {
  return dashboard(
    'items-api-overview',
    'Service overview',
    'Requests, errors and latency of items-api, per route, with exemplars that open the trace in Tempo; SLO budgets and burn rates; the log lines of a trace.',
  )
    .withVariable(traceIdVariable())
    .withRow(new RowBuilder('Traffic and errors'))
    .withPanel(withTargets(stat('Request rate', 'Requests per second, all routes.', 'reqps'), [prom(ALL)]))
    .withPanel(
      withTargets(stat('Server error ratio', 'Share of requests answered with a 5xx.', 'percentunit'), [
        prom(
          `(sum(rate(${COUNT}{${SEL}, http_response_status_code=~"5.."}[$__rate_interval])) or vector(0)) / ${ALL}`,
        ),
      ]),
    )
    .withPanel(
      withTargets(stat('Latency p99', '99th percentile of request duration.', 's'), [
        prom(quantile(0.99, HTTP_DURATION)),
      ]),
    )
    .withPanel(
      withTargets(stat('Active requests', 'Requests in flight now, all replicas.', 'short'), [
        prom(`sum(http_server_active_requests{${SEL}})`),
      ]),
    )
    .withPanel(
      withTargets(
        timeseries('Request rate by route', 'Requests per second per method and route template.', 'reqps'),
        [prom(rateBy('http_request_method, http_route', COUNT), '{{http_request_method}} {{http_route}}')],
      ),
    )
    .withPanel(
      withTargets(
        timeseries('Responses by status code', 'Requests per second per HTTP status code.', 'reqps'),
        [prom(rateBy('http_response_status_code', COUNT), '{{http_response_status_code}}')],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Error ratio by route',
          'Share of each route’s requests answered with a 5xx (server) or a 4xx (client).',
          'percentunit',
        ),
        [
          prom(
            `${rateBy('http_route', COUNT, 'http_response_status_code=~"5.."')} / ${rateBy('http_route', COUNT)}`,
            '5xx {{http_route}}',
          ),
          prom(
            `${rateBy('http_route', COUNT, 'http_response_status_code=~"4.."')} / ${rateBy('http_route', COUNT)}`,
            '4xx {{http_route}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(timeseries('Active requests by replica', 'Requests in flight per replica.', 'short'), [
        prom(`sum by (instance) (http_server_active_requests{${SEL}})`, '{{instance}}'),
      ]),
    )
    .withRow(new RowBuilder('Latency (exemplars open the trace)'))
    .withPanel(
      withTargets(
        timeseries(
          'Latency percentiles',
          'p50, p95 and p99 of request duration. The dots are exemplars: click one to open its trace in Tempo.',
          's',
        ),
        [
          prom(quantile(0.5, HTTP_DURATION), 'p50'),
          prom(quantile(0.95, HTTP_DURATION), 'p95'),
          prom(quantile(0.99, HTTP_DURATION), 'p99', { exemplar: true }),
        ],
      ),
    )
    .withPanel(
      withTargets(
        new HeatmapPanel()
          .title('Latency heatmap')
          .description('Request duration distribution; exemplars (trace_id) open the trace in Tempo.')
          .datasource(PROMETHEUS)
          .calculate(false)
          .exemplarsColor('rgba(255,0,255,0.7)')
          .height(8)
          .span(12),
        [prometheusHeatmapQuery(`sum by (le) (rate(${HTTP_DURATION}_bucket{${SEL}}[$__rate_interval]))`)],
      ),
    )
    .withPanel(
      withTargets(
        timeseries('Latency p99 by route', '99th percentile of request duration per route template.', 's'),
        [prom(quantile(0.99, HTTP_DURATION, 'http_route'), '{{http_route}}', { exemplar: true })],
      ),
    )
    .withPanel(
      withTargets(timeseries('Latency p50 by route', 'Median request duration per route template.', 's'), [
        prom(quantile(0.5, HTTP_DURATION, 'http_route'), '{{http_route}}'),
      ]),
    )
    .withRow(new RowBuilder('SLOs (30-day window)'))
    .withPanel(
      withTargets(
        stat(
          'Availability error budget left',
          'Share of the 30-day 5xx budget (objective 99.9 %) not yet spent.',
          'percentunit',
        ),
        [prom(budgetRemaining('availability'))],
      ),
    )
    .withPanel(
      withTargets(
        stat(
          'Latency error budget left',
          'Share of the 30-day budget of requests slower than 250 ms (objective 99 %) not yet spent.',
          'percentunit',
        ),
        [prom(budgetRemaining('latency'))],
      ),
    )
    .withPanel(
      withTargets(
        stat('Availability (30 days)', 'Share of requests answered without a 5xx.', 'percentunit'),
        [prom('1 - job:slo_availability_errors:ratio_rate30d{job="$job"}')],
      ),
    )
    .withPanel(
      withTargets(
        stat(
          'Requests within 250 ms (30 days)',
          'Share of requests that met the latency threshold.',
          'percentunit',
        ),
        [prom('1 - job:slo_latency_errors:ratio_rate30d{job="$job"}')],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Availability burn rate',
          'How fast the availability budget burns (1 = exactly spent in 30 days). The fast page fires above 14.4 on 1h and 5m.',
          'short',
        ),
        [
          prom(burnRate('availability', '5m'), '5m'),
          prom(burnRate('availability', '1h'), '1h'),
          prom(burnRate('availability', '6h'), '6h'),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Latency burn rate',
          'How fast the latency budget burns (1 = exactly spent in 30 days).',
          'short',
        ),
        [
          prom(burnRate('latency', '5m'), '5m'),
          prom(burnRate('latency', '1h'), '1h'),
          prom(burnRate('latency', '6h'), '6h'),
        ],
      ),
    )
    .withRow(new RowBuilder('Logs'))
    .withPanel(
      withTargets(
        new LogsPanel()
          .title('Logs of the selected trace')
          .description(
            'Log lines of items-api from Loki; with a trace id in the "Trace id" box, only that trace’s lines. Each line links to its trace.',
          )
          .datasource(LOKI)
          .showTime(true)
          .enableLogDetails(true)
          .wrapLogMessage(true)
          .sortOrder(common.LogsSortOrder.Ascending)
          .height(10)
          .span(24),
        // OTLP logs keep trace_id as structured metadata: a label filter, not a line match.
        [new LokiQuery().datasource(LOKI).expr(`{service_name="${SERVICE_NAME}"} | trace_id=~"$trace_id.*"`)],
      ),
    )
    .build();
}
