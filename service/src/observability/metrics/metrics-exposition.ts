// Renders one prom-client registry as classic Prometheus text or as OpenMetrics (with exemplars). Not
// prom-client's own: a registry has one content type, and rendering OpenMetrics renames its counters in
// place (drops `_total`), corrupting the next classic scrape; throwaway views leave the metrics untouched.
import { type Metric, Registry } from 'prom-client';

export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

interface MetricLike {
  name: string;
  readonly type?: string;
  readonly help?: string;
  get(): Promise<{ name: string; type: string }>;
}

/** True when the scraper's Accept header asks for OpenMetrics (Prometheus does when exemplars are on). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept?.includes('application/openmetrics-text') ?? false;
}

export async function render(registry: Registry, openMetrics: boolean): Promise<string> {
  if (!openMetrics && registry.contentType === PROMETHEUS_CONTENT_TYPE) return registry.metrics();
  const view = new Registry<typeof OPENMETRICS_CONTENT_TYPE | typeof PROMETHEUS_CONTENT_TYPE>();
  view.setContentType(openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE);
  for (const m of registry.getMetricsAsArray() as unknown as MetricLike[]) {
    const isCounter = m.type === 'counter';
    const family = openMetrics && isCounter ? m.name.replace(/_total$/, '') : m.name;
    const proxy: MetricLike = {
      name: family,
      type: m.type,
      help: m.help,
      // OpenMetrics names the counter family without _total and adds it back to each sample.
      get: async () => ({ ...(await m.get()), name: family }),
    };
    view.registerMetric(proxy as unknown as Metric);
  }
  return view.metrics();
}
