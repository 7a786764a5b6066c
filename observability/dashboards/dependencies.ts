// Dependencies: database queries (SQLite or PostgreSQL), Redis rate-limit commands, the PostgreSQL pool,
// and the downstream HTTP services the code calls.
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboard, prom, quantile, rateBy, SEL, timeseries, withTargets } from './common.ts';

const DB = 'db_client_operation_duration_seconds';
const CLIENT = 'http_client_request_duration_seconds';
// A failed downstream call: a 5xx, or no response at all (empty status, error_type set).
const FAILED = 'http_response_status_code=~"5..|"';

export function dependencies() {
  return dashboard(
    'items-api-dependencies',
    'Dependencies',
    'Database queries (SQLite, or PostgreSQL with DATABASE_URL) and Redis rate-limit commands (db_client_operation_duration_seconds): rate, latency and errors per system and operation; the PostgreSQL connection pool; outgoing HTTP calls per downstream host (http_client_request_duration_seconds).',
  )
    .withRow(new RowBuilder('Operations'))
    .withPanel(
      withTargets(
        timeseries(
          'Operations per second',
          'Per system (sqlite or postgresql, redis), operation and collection.',
          'ops',
        ),
        [
          prom(
            rateBy('db_system_name, db_operation_name, db_collection_name', `${DB}_count`),
            '{{db_system_name}} {{db_operation_name}} {{db_collection_name}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Errors per second',
          'Failed operations by system and error type; the flat 0 line per system shows the system is being measured.',
          'ops',
        ),
        [
          // Without the `or ... * 0` a healthy system would show "No data", which reads like a broken panel.
          prom(
            `${rateBy('db_system_name, error_type', `${DB}_count`, 'error_type!=""')} or ${rateBy('db_system_name', `${DB}_count`)} * 0`,
            '{{db_system_name}} {{error_type}}',
          ),
        ],
      ),
    )
    .withRow(new RowBuilder('Latency'))
    .withPanel(
      withTargets(
        timeseries(
          'Database latency',
          'p50 and p99 per operation of the item store (sqlite, or postgresql with DATABASE_URL); a PostgreSQL query over DATABASE_STATEMENT_TIMEOUT_MS fails.',
          's',
        ),
        [
          prom(
            quantile(0.5, DB, 'db_system_name, db_operation_name', 'db_system_name!="redis"'),
            'p50 {{db_system_name}} {{db_operation_name}}',
          ),
          prom(
            quantile(0.99, DB, 'db_system_name, db_operation_name', 'db_system_name!="redis"'),
            'p99 {{db_system_name}} {{db_operation_name}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Redis latency',
          'p50 and p99 of the rate limiter’s Redis commands; above RATE_LIMIT_REDIS_TIMEOUT_MS a tier falls back.',
          's',
        ),
        [
          prom(quantile(0.5, DB, 'db_operation_name', 'db_system_name="redis"'), 'p50 {{db_operation_name}}'),
          prom(
            quantile(0.99, DB, 'db_operation_name', 'db_system_name="redis"'),
            'p99 {{db_operation_name}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(timeseries('Error ratio per system', 'Share of operations that failed.', 'percentunit'), [
        prom(
          `(${rateBy('db_system_name', `${DB}_count`, 'error_type!=""')} or ${rateBy('db_system_name', `${DB}_count`)} * 0) / ${rateBy('db_system_name', `${DB}_count`)}`,
          '{{db_system_name}}',
        ),
      ]),
    )
    .withRow(new RowBuilder('PostgreSQL pool'))
    .withPanel(
      withTargets(
        timeseries(
          'PostgreSQL pool connections',
          'Connections in use and idle against DATABASE_POOL_MAX, queries waiting for one, and waits that ran out (DATABASE_CONNECT_TIMEOUT_MS, answered 503). Used at max with requests pending: the pool is saturated (alert DatabasePoolSaturated). Only with DATABASE_URL.',
          'short',
        ).span(24),
        [
          prom(`sum by (state) (db_client_connection_count{${SEL}})`, '{{state}}'),
          prom(`sum(db_client_connection_max{${SEL}})`, 'max'),
          prom(`sum(db_client_connection_pending_requests{${SEL}})`, 'pending'),
          prom(`sum(rate(db_client_connection_timeouts_total{${SEL}}[$__rate_interval]))`, 'timeouts/s'),
        ],
      ),
    )
    .withRow(new RowBuilder('Downstream HTTP calls'))
    .withPanel(
      withTargets(
        timeseries(
          'Downstream calls per second',
          'Outgoing fetch() and node:http calls per downstream host (server_address; past 20 hosts, `other`) and status, or error_type when no response came (refused, timeout, DNS).',
          'reqps',
        ).span(8),
        [
          prom(
            rateBy('server_address, http_response_status_code, error_type', `${CLIENT}_count`),
            '{{server_address}} {{http_response_status_code}}{{error_type}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Downstream failure ratio',
          'Share of calls per host that got a 5xx or no response (alert DownstreamCallsFailing above 5 % for 5 minutes).',
          'percentunit',
        ).span(8),
        [
          prom(
            `(${rateBy('server_address', `${CLIENT}_count`, FAILED)} or ${rateBy('server_address', `${CLIENT}_count`)} * 0) / ${rateBy('server_address', `${CLIENT}_count`)}`,
            '{{server_address}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Downstream latency',
          'p50 and p99 per host, from the call to the response head (alert DownstreamCallsSlow: p99 over 1 s for 10 minutes). The dots are exemplars: the client span of a call.',
          's',
        ).span(8),
        [
          prom(quantile(0.5, CLIENT, 'server_address'), 'p50 {{server_address}}'),
          prom(quantile(0.99, CLIENT, 'server_address'), 'p99 {{server_address}}', { exemplar: true }),
        ],
      ),
    )
    .build();
}
