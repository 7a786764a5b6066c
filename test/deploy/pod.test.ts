// The pod as a process: the image's command with the Deployment's environment, on a read-only root file
// system (a tmpfs on each emptyDir, of which there are none), against real Redis, PostgreSQL and OTLP.
// It starts, its probes answer, items land in PostgreSQL, its log lines go to stdout only, and SIGTERM
// ends it within the grace period.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { collectOutput, freePort, waitForLine } from '../support/process.ts';
import { startRedis } from '../support/redis-server.ts';
import { apiObjects, only, podEnvironment, ROOT, SECRET_VALUES } from './support.ts';

const deployment = only(apiObjects(), 'Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];

// A user and mount namespace of the test's own (no root needed beyond what unshare grants): / is
// bound read-only onto itself, as readOnlyRootFilesystem does, and each emptyDir mount path gets a tmpfs.
// Nothing outside the namespace changes; it disappears with the process.
function sandboxed(command: string[]): [string, string[]] {
  const emptyDirs = (container.volumeMounts ?? [])
    .filter((m: { name: string }) =>
      pod.volumes.some((v: { name: string; emptyDir?: unknown }) => v.name === m.name && v.emptyDir),
    )
    .map((m: { mountPath: string }) => m.mountPath);
  const mounts = emptyDirs.map((p: string) => `mount -t tmpfs -o size=64m tmpfs '${p}' && `).join('');
  const script = `mount -o remount,bind,ro / && ${mounts}exec "$@"`;
  return ['unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script, 'pod', ...command]];
}

/** The Dockerfile's CMD, with the project's Node (scripts/node.sh) for `node`. */
function imageCommand(): string[] {
  const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CMD '));
  assert.ok(line, 'the Dockerfile has no CMD');
  const [bin, ...args] = JSON.parse(line.slice(4)) as string[];
  assert.equal(bin, 'node');
  return [process.execPath, ...args];
}

test('when the sandbox is set up, then the project directory and /tmp refuse writes as in the pod', () => {
  // The pod test below means something only if a write outside an emptyDir really fails.
  const probes = [join(ROOT, '.k8s-ro-probe'), '/tmp/.k8s-ro-probe'];
  const [cmd, args] = sandboxed([
    'sh',
    '-c',
    [...probes.map((p) => `touch '${p}' 2>/dev/null && echo 'writable ${p}'; `), 'echo done'].join(''),
  ]);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `unshare failed: ${r.stderr}`);
  assert.equal(r.stdout.trim(), 'done');
});

test('when the image command runs with the Deployment’s environment on a read-only root, then it serves, stores items in PostgreSQL, logs to stdout only and stops within the grace period', async (t) => {
  const [redis, db, otlp] = await Promise.all([startRedis(t), createTestDatabase(t), startOtlpReceiver()]);
  t.after(() => otlp.close());
  // Secret files on /dev/shm, a mount of its own that the sandbox leaves as it is (a pod has one too).
  const secrets = mkdtempSync('/dev/shm/k8s-pod-');
  t.after(() => rmSync(secrets, { recursive: true, force: true }));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = { ...podEnvironment(secrets), PATH: process.env.PATH ?? '' };
  // The cluster's addresses, replaced by the test's own where the pod has one; free ports on this
  // shared machine instead of the container's (test/deploy/consistency.test.ts checks those).
  const local: Record<string, string> = {
    REDIS_URL: redis.url,
    DATABASE_URL: db.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
  };
  for (const [name, value] of Object.entries(local)) if (env[name] !== undefined) env[name] = value;
  Object.assign(env, { PORT: String(port), METRICS_PORT: String(metricsPort) });
  delete env.SENTRY_DSN;
  assert.equal(env.NODE_ENV, 'production');

  const [cmd, args] = sandboxed(imageCommand());
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitForLine(child, (l) => l.includes('service listening'), 30_000);

  const base = `http://127.0.0.1:${port}`;
  for (const probe of [container.startupProbe, container.livenessProbe]) {
    const res = await fetch(base + probe.httpGet.path);
    assert.equal(res.status, 200, `${probe.httpGet.path} answered ${res.status}`);
  }
  const ready = await fetch(base + container.readinessProbe.httpGet.path);
  const readiness = (await ready.json()) as { status: string };
  assert.equal(ready.status, 200, JSON.stringify(readiness));
  assert.equal(readiness.status, 'ok', JSON.stringify(readiness));

  const created = await fetch(`${base}/api/v1/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRET_VALUES.API_TOKENS}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'written-from-a-read-only-pod', quantity: 1 }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const rows = await db.query(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'items'",
  );
  assert.equal(rows.length, 1, 'the items table is not in PostgreSQL');
  const items = await db.query<{ name: string }>('SELECT name FROM items');
  assert.deepEqual(
    items.map((i) => i.name),
    ['written-from-a-read-only-pod'],
  );

  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
    headers: { accept: 'application/openmetrics-text;version=1.0.0' },
  });
  assert.equal(metrics.status, 200);

  const stoppedAt = Date.now();
  child.kill('SIGTERM');
  const [code] = await output.closed;
  const seconds = (Date.now() - stoppedAt) / 1000;
  assert.equal(code, 0, `exit ${code}:\n${output.stderr().slice(-2000)}`);
  assert.ok(
    seconds < pod.terminationGracePeriodSeconds,
    `shutdown took ${seconds}s, the kubelet kills at ${pod.terminationGracePeriodSeconds}s`,
  );
  const span = await otlp.waitForSpan((s) => s.name.includes('/api/v1/items'), 5_000);
  // Each log line leaves once: on stdout, where the node agent reads it with the request's trace id,
  // and never as an OTLP record as well (the exporter has flushed by the time the process exits).
  const lines = output
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { trace_id?: string });
  assert.ok(
    lines.some((l) => l.trace_id === span.traceId),
    'no stdout line carries the request’s trace id',
  );
  assert.equal(otlp.logs.length, 0, 'the pod exported log records over OTLP too');
  const all = output.stdout() + output.stderr();
  assert.doesNotMatch(all, /EROFS|read-only file system/i, 'the process tried to write to its file system');
  t.diagnostic(
    `shutdown after SIGTERM: ${seconds.toFixed(1)} s (grace ${pod.terminationGracePeriodSeconds} s)`,
  );
});
