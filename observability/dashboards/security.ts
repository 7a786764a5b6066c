// Security: security events by type, 401/403/429 rates, rate-limit decisions and limiter backends per tier.

import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import {
  dashboard,
  HTTP_DURATION,
  PROMETHEUS,
  prom,
  rateBy,
  SEL,
  timeseries,
  withTargets,
} from './common.ts';

export function security() {
  return dashboard(
    'items-api-security',
    'Security',
    'Every security-relevant rejection (security_events_total), the 401/403/429 answers, and the rate limiter: decisions per tier and which backend each tier runs on.',
  )
    .withRow(new RowBuilder('Security events'))
    .withPanel(
      withTargets(
        timeseries(
          'Security events by type',
          'Rejections recorded by the security-event module: unauthorized, forbidden, rate_limited, cors_rejected, validation_failed, body_too_large, malformed_body, unsupported_media_type. Details are in the `security event` log lines.',
          'ops',
        ),
        [prom(rateBy('type', 'security_events_total'), '{{type}}')],
      ),
    )
    .withPanel(
      withTargets(
        new BarGaugePanel()
          .title('Security events in the time range')
          .description('How many of each type happened in the selected time range.')
          .datasource(PROMETHEUS)
          .unit('short')
          .orientation(common.VizOrientation.Horizontal)
          .displayMode(common.BarGaugeDisplayMode.Basic)
          .height(8)
          .span(12),
        [
          prom(`sum by (type) (increase(security_events_total{${SEL}}[$__range]))`, '{{type}}', {
            instant: true,
          }),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          '401, 403 and 429 answers',
          'Responses per second with status 401, 403 or 429, per route.',
          'reqps',
        ),
        [
          prom(
            rateBy(
              'http_response_status_code, http_route',
              `${HTTP_DURATION}_count`,
              'http_response_status_code=~"401|403|429"',
            ),
            '{{http_response_status_code}} {{http_route}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'CORS refusals',
          'Requests from an origin outside CORS_ORIGINS (look-alike domains, null): no Access-Control-Allow-Origin was sent.',
          'ops',
        ),
        [
          prom(
            `sum(rate(security_events_total{${SEL}, type="cors_rejected"}[$__rate_interval]))`,
            'cors_rejected',
          ),
        ],
      ),
    )
    .withRow(new RowBuilder('Rate limiting'))
    .withPanel(
      withTargets(
        timeseries(
          'Rate-limit decisions per tier',
          'allowed, rejected (429) and unavailable (admin tier failing closed with 503), per tier and backend.',
          'ops',
        ),
        [
          prom(
            rateBy('tier, decision, backend', 'rate_limit_decisions_total'),
            '{{tier}} {{decision}} ({{backend}})',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Rejected share per tier',
          'Share of each tier’s decisions that were 429s.',
          'percentunit',
        ),
        [
          prom(
            `${rateBy('tier', 'rate_limit_decisions_total', 'decision="rejected"')} / ${rateBy('tier', 'rate_limit_decisions_total')}`,
            '{{tier}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        new StateTimelinePanel()
          .title('Limiter backend per tier')
          .description(
            '1 for the backend each tier uses now: redis (shared limits), memory (per-replica fallback) or unavailable (fails closed).',
          )
          .datasource(PROMETHEUS)
          .height(8)
          .span(12),
        [
          prom(
            `max by (instance, tier, backend) (rate_limit_backend{${SEL}})`,
            '{{instance}} {{tier}} {{backend}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Tiers on their fallback',
          '1 while a Redis-backed tier runs on its in-memory fallback or fails closed (alert RateLimiterDegraded).',
          'short',
        ).max(1),
        [prom(`max by (instance, tier) (rate_limit_degraded{${SEL}})`, '{{instance}} {{tier}}')],
      ),
    )
    .build();
}
