// Grafana's variable substitution for a Prometheus target, as the datasource does it before sending a
// query: built-in interval/range variables and the dashboard's own variables (current or "All" value).
import type { DashboardJson } from './dashboards.ts';

export interface QueryWindow {
  /** Seconds. */
  readonly rangeSeconds: number;
  /** The datasource's scrape interval (Grafana's "timeInterval"), seconds. */
  readonly scrapeIntervalSeconds: number;
  /** Panel width in points, bounds the step like Grafana's maxDataPoints. */
  readonly maxDataPoints?: number;
}

export interface Interpolated {
  readonly expr: string;
  /** The step Grafana would send for a range query ($__interval), seconds. */
  readonly stepSeconds: number;
}

/**
 * $__interval = max(range / maxDataPoints, scrape interval); $__rate_interval = max($__interval +
 * scrape interval, 4 x scrape interval) (Grafana docs, "Prometheus template variables").
 */
export function interpolate(d: DashboardJson, expr: string, w: QueryWindow): Interpolated {
  const interval = Math.max(Math.ceil(w.rangeSeconds / (w.maxDataPoints ?? 1000)), w.scrapeIntervalSeconds);
  const rateInterval = Math.max(interval + w.scrapeIntervalSeconds, 4 * w.scrapeIntervalSeconds);
  const range = Math.round(w.rangeSeconds);
  const builtins: Record<string, string> = {
    __rate_interval: `${rateInterval}s`,
    __interval: `${interval}s`,
    __interval_ms: String(interval * 1000),
    __range: `${range}s`,
    __range_s: String(range),
    __range_ms: String(range * 1000),
  };
  const own: Record<string, string> = {};
  for (const v of d.templating.list) {
    const current = (v as { current?: { value?: string } }).current?.value;
    if (v.type === 'query' || v.type === 'custom') {
      own[v.name] = current === '$__all' || current === undefined ? (v.allValue ?? '.*') : current;
    } else if (v.type === 'textbox' || v.type === 'constant') {
      own[v.name] = current ?? v.query ?? '';
    }
  }
  const values = { ...own, ...builtins };
  // $name, ${name}, ${name:format} and [[name]]; longest names first so $__interval_ms wins over $__interval.
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    const value = values[name];
    if (value === undefined) throw new Error(`${d.title}: unknown variable ${whole} in ${expr}`);
    return value;
  });
  return { expr: out, stepSeconds: interval };
}
