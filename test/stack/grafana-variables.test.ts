// The Grafana variable substitution the e2e check relies on: it must behave like Grafana, and an
// unknown variable must fail loudly instead of reaching Prometheus as a literal.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { DashboardJson } from './support/dashboards.ts';
import { interpolate } from './support/grafana-variables.ts';

const dashboard: DashboardJson = {
  uid: 'x',
  title: 'x',
  file: 'x.json',
  panels: [],
  templating: {
    list: [
      { type: 'datasource', name: 'datasource', query: 'prometheus' },
      { type: 'query', name: 'job', current: { value: 'items-api' } } as never,
      { type: 'query', name: 'instance', allValue: '.+', current: { value: '$__all' } } as never,
    ],
  },
};

test('when a query uses the interval variables, then they follow Grafana’s formula for the scrape interval and range', () => {
  const { expr, stepSeconds } = interpolate(
    dashboard,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax under test.
    'rate(x[$__rate_interval]) + rate(x[${__interval}]) + increase(x[$__range]) + $__interval_ms',
    { rangeSeconds: 60, scrapeIntervalSeconds: 1 },
  );
  assert.equal(expr, 'rate(x[4s]) + rate(x[1s]) + increase(x[60s]) + 1000');
  assert.equal(stepSeconds, 1);
  // A 24-hour range at 15 s scrapes: interval = 87 s (range / 1000 points), rate interval = 87 + 15 s.
  assert.equal(
    interpolate(dashboard, '[$__rate_interval]', { rangeSeconds: 86_400, scrapeIntervalSeconds: 15 }).expr,
    '[102s]',
  );
});

test('when a query uses the job and replica variables, then the current value and the "All" value are substituted', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana variable syntax under test.
  const { expr } = interpolate(dashboard, 'up{job="$job", instance=~"${instance:regex}"}', {
    rangeSeconds: 60,
    scrapeIntervalSeconds: 1,
  });
  assert.equal(expr, 'up{job="items-api", instance=~".+"}');
});

test('when a query uses a variable the dashboard does not define, then interpolation throws', () => {
  assert.throws(
    () => interpolate(dashboard, 'up{x="$nope"}', { rangeSeconds: 60, scrapeIntervalSeconds: 1 }),
    /unknown variable \$nope/,
  );
});
