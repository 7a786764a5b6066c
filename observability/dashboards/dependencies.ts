// Dependencies: SQLite queries and Redis rate-limit commands, their rate, latency and errors.
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboard, prom, quantile, rateBy, timeseries, withTargets } from './common.ts';

const DB = 'db_client_operation_duration_seconds';

export function dependencies() {
  return dashboard(
    'items-api-dependencies',
    'Dependencies',
    'SQLite queries and Redis rate-limit commands (db_client_operation_duration_seconds): rate, latency and errors per system and operation.',
  )
    .withRow(new RowBuilder('Operations'))
    .withPanel(
      withTargets(
        timeseries('Operations per second', 'Per system (sqlite, redis), operation and collection.', 'ops'),
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
      withTargets(timeseries('SQLite latency', 'p50 and p99 per operation.', 's'), [
        prom(quantile(0.5, DB, 'db_operation_name', 'db_system_name="sqlite"'), 'p50 {{db_operation_name}}'),
        prom(quantile(0.99, DB, 'db_operation_name', 'db_system_name="sqlite"'), 'p99 {{db_operation_name}}'),
      ]),
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
    .build();
}
