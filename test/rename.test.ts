// `npm run rename -- <name>` on a clone of the repository: refuses bad names, rewrites the service's
// identity, regenerates, and leaves a project whose rules, dashboards and compose file all follow.
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { currentName, DNS_LABEL, RENAME_ALLOWLIST } from '../scripts/rename.ts';
import { stackBinaries } from './support/stack-binaries.ts';

const ROOT = join(import.meta.dirname, '..');
const NEW = 'shop-api';

function npm(cwd: string, ...args: string[]) {
  const r = spawnSync('npm', ['run', '--silent', ...args], { cwd, encoding: 'utf8', env: process.env });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

/** A clone of the committed repository sharing node_modules (and the Node download) by symlink. */
function cloneRepository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rename-'));
  git(ROOT, 'clone', '--quiet', ROOT, dir);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'tools', 'node', 'node_modules'), join(dir, 'tools', 'node', 'node_modules'));
  // A fresh checkout's lockfile is newer than the shared install, and scripts/node.sh would run
  // `npm ci` into the shared node_modules: date it back (the dependencies are the same).
  utimesSync(join(dir, 'package-lock.json'), new Date(0), new Date(0));
  return dir;
}

test('when a clone is renamed, then bad names are refused, the name changes everywhere and rules, dashboards and compose follow', async (t) => {
  const old = currentName(ROOT);
  assert.equal(old, 'items-api');
  const dir = cloneRepository();
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  // Not a DNS label: refused, nothing touched.
  for (const bad of ['Shop-API', 'shop_api', '-shop', 'shop-', 'a'.repeat(64), 'shop.api', '']) {
    const r = npm(dir, 'rename', '--', bad);
    assert.notEqual(r.status, 0, `"${bad}" was accepted`);
    assert.match(r.out, /not a valid name|usage/, r.out);
  }
  assert.equal(git(dir, 'status', '--porcelain', '--untracked-files=no'), '');
  assert.ok(DNS_LABEL.test('a'.repeat(63)) && DNS_LABEL.test('a-1'), 'a 63-character label is valid');

  const first = npm(dir, 'rename', '--', NEW);
  assert.equal(first.status, 0, first.out);
  assert.match(first.out, /prometheus\/rules\/alerts\.yml: \d+ replaced/);
  assert.match(first.out, new RegExp(`${old} -> ${NEW} in \\d+ files; regenerated with npm run dashboards`));
  assert.equal(currentName(dir), NEW);
  assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name, NEW);
  const afterFirst = git(dir, 'diff');

  // Idempotent: a second run changes nothing.
  const second = npm(dir, 'rename', '--', NEW);
  assert.equal(second.status, 0, second.out);
  assert.match(second.out, /already named shop-api; nothing to change/);
  assert.equal(git(dir, 'diff'), afterFirst);

  await t.test('then git grep finds the old name only in the documented allowlist', () => {
    const found = spawnSync('git', ['grep', '-l', '-e', old, '-e', old.replaceAll('-', '_')], {
      cwd: dir,
      encoding: 'utf8',
    })
      .stdout.split('\n')
      .filter((f) => f !== '');
    assert.deepEqual(
      found.filter((f) => !RENAME_ALLOWLIST.some((a) => f.startsWith(a))),
      [],
    );
    // The example resource stays.
    assert.match(readFileSync(join(dir, 'service', 'src', 'items', 'routes.ts'), 'utf8'), /\/api\/v1\/items/);
  });

  await t.test('then lint and format checks pass on the renamed project (npm run lint)', () => {
    const r = npm(dir, 'lint');
    assert.equal(r.status, 0, r.out);
  });

  await t.test('then promtool test rules passes on the renamed rules and their unit tests', async () => {
    const { promtool } = await stackBinaries();
    const tests = readdirSync(join(dir, 'prometheus', 'tests')).map((f) => `tests/${f}`);
    const out = execFileSync(promtool, ['test', 'rules', ...tests], {
      cwd: join(dir, 'prometheus'),
      encoding: 'utf8',
    });
    assert.match(out, /SUCCESS/);
    assert.match(readFileSync(join(dir, 'prometheus', 'tests', 'alerts.test.yml'), 'utf8'), /job="shop-api"/);
  });

  await t.test('then every Prometheus query of every dashboard selects the new job', () => {
    const dashboards = join(dir, 'grafana', 'dashboards');
    let queries = 0;
    for (const file of readdirSync(dashboards).filter((f) => f.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(join(dashboards, file), 'utf8'));
      const job = d.templating.list.find((v: { name: string }) => v.name === 'job');
      assert.equal(job?.current?.value, NEW, `${file}: the job picker does not default to ${NEW}`);
      assert.match(d.title, /^shop-api: /);
      const visit = (
        panels: { targets?: { expr?: string; datasource?: { type?: string } }[]; panels?: [] }[],
      ) => {
        for (const p of panels) {
          visit(p.panels ?? []);
          for (const target of p.targets ?? []) {
            if (target.expr === undefined) continue;
            const expr = target.expr.replaceAll('$job', job.current.value);
            if (/service_name=/.test(expr)) {
              // Loki: OTLP logs carry service.name as service_name.
              assert.match(expr, /service_name="shop-api"/, `${file}: ${target.expr}`);
              continue;
            }
            queries++;
            const jobs = [...expr.matchAll(/\bjob\s*=~?\s*"([^"]*)"/g)].map((m) => m[1]);
            // Objective constants (slo:objective:ratio, ...) belong to no job; everything else must.
            if (jobs.length === 0 && /^(slo:|vector\()/.test(expr.trim())) continue;
            assert.ok(jobs.length > 0, `${file}: ${target.expr} selects no job`);
            for (const j of jobs) assert.equal(j, NEW, `${file}: ${target.expr}`);
          }
        }
      };
      visit(d.panels);
    }
    assert.ok(queries > 30, `only ${queries} Prometheus queries found`);
  });

  await t.test('then the renamed compose file passes the compose test of the renamed project', () => {
    const compose = readFileSync(join(dir, 'docker-compose.yml'), 'utf8');
    assert.match(compose, /^name: shop-api$/m);
    // Its schema validation, the scrape job that discovers the replicas, and the home dashboard.
    const r = spawnSync(
      process.execPath,
      [
        '--test',
        '--test-reporter=tap',
        '--test-name-pattern=compose-spec|Prometheus starts in the stack|Grafana provisions dashboards',
        'test/stack/compose.test.ts',
      ],
      // Without the parent's NODE_TEST_CONTEXT, the child reports for itself.
      { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /# pass [3-9]/);
    assert.match(r.stdout, /# fail 0/);
  });
});
