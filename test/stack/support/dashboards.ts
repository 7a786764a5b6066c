// Reads the provisioned dashboards and lists every panel target with the datasource type it runs on.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS_DIR } from './paths.ts';

interface DatasourceRef {
  type?: string;
  uid?: string;
}
export interface Target {
  refId?: string;
  expr?: string;
  exemplar?: boolean;
  instant?: boolean;
  format?: string;
  datasource?: DatasourceRef;
}
interface Panel {
  type: string;
  title: string;
  datasource?: DatasourceRef;
  targets?: Target[];
  panels?: Panel[];
}
export interface Variable {
  type: string;
  name: string;
  query?: string;
  allValue?: string;
}
export interface DashboardJson {
  uid: string;
  title: string;
  file: string;
  panels: Panel[];
  templating: { list: Variable[] };
}
export interface PanelTarget {
  dashboard: string;
  panel: string;
  panelType: string;
  /** The plugin type the target runs on, resolved through datasource variables. */
  datasourceType: string;
  target: Target;
}

export function loadDashboards(): DashboardJson[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      ...(JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as DashboardJson),
      file,
    }));
}

/** Datasource type of a ref: a `${var}` uid is looked up among the dashboard's datasource variables. */
function typeOf(d: DashboardJson, ref: DatasourceRef | undefined): string {
  const variable = /^\$\{?(\w+)\}?$/.exec(ref?.uid ?? '')?.[1];
  if (variable) {
    const v = d.templating.list.find((x) => x.name === variable && x.type === 'datasource');
    if (!v?.query) throw new Error(`${d.title}: datasource variable ${variable} is not defined`);
    return v.query;
  }
  if (!ref?.type) throw new Error(`${d.title}: a panel or target has no datasource type`);
  return ref.type;
}

export function dashboardTargets(d: DashboardJson): PanelTarget[] {
  const out: PanelTarget[] = [];
  const visit = (panels: Panel[]) => {
    for (const p of panels) {
      if (p.panels) visit(p.panels);
      for (const target of p.targets ?? []) {
        out.push({
          dashboard: d.title,
          panel: p.title,
          panelType: p.type,
          datasourceType: typeOf(d, target.datasource ?? p.datasource),
          target,
        });
      }
    }
  };
  visit(d.panels);
  return out;
}
