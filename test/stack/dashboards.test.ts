// The committed Grafana dashboards are exactly what the TypeScript source generates, and well-formed.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DASHBOARDS, render } from '../../observability/dashboards/index.ts';
import { dashboardTargets, loadDashboards } from './support/dashboards.ts';
import { DASHBOARDS_DIR } from './support/paths.ts';

test('when the dashboards are generated from observability/dashboards, then the committed JSON is identical', () => {
  const committed = readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.deepEqual(
    committed,
    Object.keys(DASHBOARDS).sort(),
    'run `npm run dashboards` and commit the result',
  );
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    const onDisk = readFileSync(join(DASHBOARDS_DIR, file), 'utf8');
    assert.ok(
      onDisk === render(build()),
      `${file} differs from its source: run \`npm run dashboards\` and commit`,
    );
  }
});

test('when the dashboards are read, then they have the issue’s panels, a datasource and a replica variable, and every target a refId', () => {
  const dashboards = loadDashboards();
  const titles = dashboards.map((d) => d.title).sort();
  assert.deepEqual(titles, [
    'items-api: Dependencies',
    'items-api: Runtime',
    'items-api: Security',
    'items-api: Service overview',
  ]);
  for (const d of dashboards) {
    const vars = d.templating.list.map((v) => `${v.type}:${v.name}`);
    assert.ok(vars.includes('datasource:datasource'), `${d.title}: no datasource variable`);
    assert.ok(vars.includes('query:instance'), `${d.title}: no replica variable`);
    for (const t of dashboardTargets(d))
      assert.ok(t.target.refId, `${d.title} / ${t.panel}: target without refId`);
  }
  const overview = dashboards.find((d) => d.uid === 'items-api-overview');
  assert.ok(overview);
  const targets = dashboardTargets(overview);
  assert.ok(
    targets.some((t) => t.panelType === 'heatmap' && t.target.exemplar === true),
    'no heatmap with exemplars',
  );
  assert.ok(
    targets.some((t) => t.datasourceType === 'loki'),
    'no Loki logs panel',
  );
  assert.ok(
    targets.some((t) => /job:slo_availability_errors/.test(t.target.expr ?? '')),
    'no SLO panel',
  );
});
