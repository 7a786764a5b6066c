// The Prometheus configuration, recording/alert rules and their unit tests, checked by the real promtool
// (Prometheus 3's, built by scripts/stack-binaries.sh at the compose image's release).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { stackBinaries } from '../support/stack-binaries.ts';
import { PROMETHEUS_DIR } from './support/paths.ts';

const run = promisify(execFile);

async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run((await stackBinaries()).promtool, args, { cwd: PROMETHEUS_DIR });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

interface RuleFile {
  groups: { rules: { alert?: string; record?: string }[] }[];
}
interface UnitTests {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

test('when promtool checks the compose scrape config, then it is valid and loads both rule files', async () => {
  const out = await promtool('check', 'config', 'prometheus.yml');
  assert.match(out, /SUCCESS: 2 rule files found/);
  assert.match(out, /rules\/recording\.yml\s+SUCCESS/);
  assert.match(out, /rules\/alerts\.yml\s+SUCCESS/);
});

test('when promtool checks the rule files, then every recording and alert rule is valid', async () => {
  const out = await promtool('check', 'rules', 'rules/recording.yml', 'rules/alerts.yml');
  assert.doesNotMatch(out, /FAILED/);
  assert.match(out, /SUCCESS: \d+ rules found/);
});

test('when promtool runs the rule unit tests, then they pass and every alert has a firing and a quiet case', async () => {
  const out = await promtool('test', 'rules', 'tests/alerts.test.yml');
  assert.match(out, /SUCCESS/);

  // A new alert without tests must fail here, not slip through.
  const alerts = (parse(readFileSync(join(PROMETHEUS_DIR, 'rules/alerts.yml'), 'utf8')) as RuleFile).groups
    .flatMap((g) => g.rules)
    .flatMap((r) => (r.alert ? [r.alert] : []));
  const unit = parse(readFileSync(join(PROMETHEUS_DIR, 'tests/alerts.test.yml'), 'utf8')) as UnitTests;
  const cases = unit.tests.flatMap((t) => t.alert_rule_test ?? []);
  assert.ok(alerts.length >= 12, `expected the full alert set, found ${alerts.join(', ')}`);
  for (const alert of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    assert.ok(
      mine.some((c) => c.exp_alerts.length > 0),
      `${alert}: no unit test where it fires`,
    );
    assert.ok(
      mine.some((c) => c.exp_alerts.length === 0),
      `${alert}: no unit test where it must stay quiet`,
    );
  }
});
