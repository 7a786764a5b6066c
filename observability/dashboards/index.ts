// The dashboards, by file name under grafana/dashboards, and their JSON as Grafana provisions it.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { dependencies } from './dependencies.ts';
import { runtime } from './runtime.ts';
import { security } from './security.ts';
import { serviceOverview } from './service-overview.ts';

export const DASHBOARDS: Readonly<Record<string, () => Dashboard>> = {
  'service-overview.json': serviceOverview,
  'security.json': security,
  'runtime.json': runtime,
  'dependencies.json': dependencies,
};

/** The exact bytes committed under grafana/dashboards (stable key order, trailing newline). */
export function render(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
