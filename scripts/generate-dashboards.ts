// Writes grafana/dashboards/*.json from observability/dashboards/*.ts (`npm run dashboards`).
// CI (test/stack/dashboards.test.ts) fails when the committed JSON differs from what this writes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS, render } from '../observability/dashboards/index.ts';

const out = join(import.meta.dirname, '..', 'grafana', 'dashboards');
mkdirSync(out, { recursive: true });
// A dashboard removed from the source must disappear from Grafana too.
for (const f of readdirSync(out)) if (f.endsWith('.json') && !(f in DASHBOARDS)) rmSync(join(out, f));
for (const [file, build] of Object.entries(DASHBOARDS)) {
  writeFileSync(join(out, file), render(build()));
  process.stdout.write(`wrote grafana/dashboards/${file}\n`);
}
