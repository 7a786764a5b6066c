// Runtime: the Node.js process of each replica (event loop, heap, GC, CPU, handles) and its build.
import { RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { dashboard, PROMETHEUS, prom, rateBy, SEL, timeseries, withTargets } from './common.ts';

export function runtime() {
  return dashboard(
    'items-api-runtime',
    'Runtime',
    'Node.js runtime of each items-api replica: event-loop delay, heap against its limit, garbage collection, CPU, memory, handles; build and instrumentation state.',
  )
    .withRow(new RowBuilder('Event loop and CPU'))
    .withPanel(
      withTargets(
        timeseries(
          'Event-loop delay beyond the sampling interval',
          'How late the event loop ran its timers, beyond the 20 ms sampling interval (0 when idle), between two scrapes; alert EventLoopLagHigh above 200 ms p99.',
          's',
        ),
        [
          prom(
            `max by (instance) (nodejs_eventloop_delay_beyond_interval_p50_seconds{${SEL}})`,
            'p50 {{instance}}',
          ),
          prom(
            `max by (instance) (nodejs_eventloop_delay_beyond_interval_p99_seconds{${SEL}})`,
            'p99 {{instance}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Event-loop utilisation',
          'Share of the time the event loop ran callbacks (performance.eventLoopUtilization), between two scrapes: 0 idle, 1 saturated.',
          'percentunit',
        ).max(1),
        [prom(`max by (instance) (nodejs_eventloop_utilization_ratio{${SEL}})`, '{{instance}}')],
      ),
    )
    .withPanel(
      withTargets(
        timeseries('CPU', 'CPU seconds per second (1 = one core), user and system.', 'percentunit'),
        [
          prom(rateBy('instance', 'process_cpu_user_seconds_total'), 'user {{instance}}'),
          prom(rateBy('instance', 'process_cpu_system_seconds_total'), 'system {{instance}}'),
        ],
      ),
    )
    .withRow(new RowBuilder('Memory and GC'))
    .withPanel(
      withTargets(timeseries('Heap', 'V8 heap used and total, against the limit V8 aborts at.', 'bytes'), [
        prom(`sum by (instance) (nodejs_heap_size_used_bytes{${SEL}})`, 'used {{instance}}'),
        prom(`sum by (instance) (nodejs_heap_size_total_bytes{${SEL}})`, 'total {{instance}}'),
        prom(`sum by (instance) (nodejs_heap_size_limit_bytes{${SEL}})`, 'limit {{instance}}'),
      ]),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Heap used / limit',
          'Alert HeapNearLimit fires above 90 % for 5 minutes.',
          'percentunit',
        ).max(1),
        [
          prom(
            `sum by (instance) (nodejs_heap_size_used_bytes{${SEL}}) / sum by (instance) (nodejs_heap_size_limit_bytes{${SEL}})`,
            '{{instance}}',
          ),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Time in GC',
          'Seconds spent in garbage collection per second, by GC kind.',
          'percentunit',
        ),
        [prom(rateBy('instance, kind', 'nodejs_gc_duration_seconds_sum'), '{{kind}} {{instance}}')],
      ),
    )
    .withPanel(
      withTargets(timeseries('Resident memory', 'Resident set size of the process.', 'bytes'), [
        prom(`sum by (instance) (process_resident_memory_bytes{${SEL}})`, '{{instance}}'),
      ]),
    )
    .withRow(new RowBuilder('Handles and build'))
    .withPanel(
      withTargets(
        timeseries(
          'Active handles',
          'libuv handles keeping the process alive (sockets, timers, ...), by type.',
          'short',
        ),
        [prom(`sum by (instance, type) (nodejs_active_handles{${SEL}})`, '{{type}} {{instance}}')],
      ),
    )
    .withPanel(
      withTargets(timeseries('Open file descriptors', 'Against the process limit.', 'short'), [
        prom(`sum by (instance) (process_open_fds{${SEL}})`, 'open {{instance}}'),
        prom(`sum by (instance) (process_max_fds{${SEL}})`, 'max {{instance}}'),
      ]),
    )
    .withPanel(
      withTargets(
        new TablePanel()
          .title('Build')
          .description('Version, revision and Node.js version of each replica (service_build_info).')
          .datasource(PROMETHEUS)
          .height(6)
          .span(12),
        [
          prom(`max by (instance, version, revision, nodejs_version) (service_build_info{${SEL}})`, '', {
            instant: true,
          }).format(PromQueryFormat.Table),
        ],
      ),
    )
    .withPanel(
      withTargets(
        timeseries(
          'Instrumentation patched',
          '1 when the OpenTelemetry instrumentation really patched its module (alert InstrumentationNotPatched on 0).',
          'short',
        ).max(1),
        [
          prom(
            `max by (instance, instrumentation) (telemetry_instrumentation_patched{${SEL}})`,
            '{{instrumentation}} {{instance}}',
          ),
        ],
      ),
    )
    .build();
}
