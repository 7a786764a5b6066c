// `npm run rename -- <new-name>`: the service's own name everywhere it is configuration or docs (the
// example resource `items` stays); the current name comes from .env.example. Written here: no library
// renames an identity across YAML, JSON, TypeScript and Markdown; test/rename.test.ts proves it.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/**
 * Tracked files that keep the old name on purpose: recorded history, not configuration. The
 * benchmark's results and BENCHMARKS.md are written by past runs (`npm run bench` rewrites them).
 */
export const RENAME_ALLOWLIST = ['bench/results/', 'BENCHMARKS.md'] as const;

/** RFC 1123 DNS label: what a compose project, a Prometheus job, a Kubernetes object accept. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function currentName(root = ROOT): string {
  const m = /^OTEL_SERVICE_NAME=(\S+)$/m.exec(readFileSync(join(root, '.env.example'), 'utf8'));
  if (!m?.[1])
    throw new Error('.env.example has no OTEL_SERVICE_NAME=<name> line to read the current name from');
  return m[1];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * The name as a whole token, also as a prefix (`<name>-runtime`, `<name>-config`) and inside
 * Markdown emphasis (`_<name>_`), but not inside a longer name (`my-<name>`, `<name>s`).
 */
const token = (name: string) => new RegExp(`(?<![A-Za-z0-9-])${escapeRegExp(name)}(?![A-Za-z0-9])`, 'g');

function trackedFiles(root: string): string[] {
  const out = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`git ls-files failed: ${out.stderr}`);
  return out.stdout.split('\0').filter((f) => f !== '' && !RENAME_ALLOWLIST.some((a) => f.startsWith(a)));
}

export interface Change {
  readonly file: string;
  readonly replacements: number;
}

/** Rewrites the tracked files; returns what changed. Does not regenerate. */
export function rewrite(root: string, from: string, to: string): Change[] {
  // The name also appears with underscores where hyphens are not allowed (PostgreSQL user, database).
  const pairs: [RegExp, string][] = [
    [token(from), to],
    [token(from.replaceAll('-', '_')), to.replaceAll('-', '_')],
  ];
  const changes: Change[] = [];
  for (const file of trackedFiles(root)) {
    const path = join(root, file);
    let text: string;
    try {
      if (!statSync(path).isFile()) continue;
      text = readFileSync(path, 'utf8');
    } catch {
      continue; // listed but absent (deleted in the work tree)
    }
    if (text.includes('\0')) continue; // binary
    let n = 0;
    let next = text;
    for (const [re, value] of pairs)
      next = next.replace(re, () => {
        n++;
        return value;
      });
    if (file === 'package.json' || file === 'package-lock.json')
      next = renamePackage(file, next, to, () => n++);
    if (next === text) continue;
    const before = statSync(path);
    writeFileSync(path, next);
    // Only the name changed in the lockfile: keep its time, so scripts/node.sh sees no new
    // dependencies to install.
    if (file === 'package-lock.json') utimesSync(path, before.atime, before.mtime);
    changes.push({ file, replacements: n });
  }
  return changes;
}

/** package.json's and the lockfile's own `name` (npm names are DNS-label compatible). */
function renamePackage(file: string, text: string, to: string, count: () => void): string {
  const json = JSON.parse(text) as { name?: string; packages?: Record<string, { name?: string }> };
  let changed = false;
  if (json.name !== to) {
    json.name = to;
    changed = true;
  }
  const self = file === 'package-lock.json' ? json.packages?.[''] : undefined;
  if (self && self.name !== to) {
    self.name = to;
    changed = true;
  }
  if (!changed) return text;
  count();
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** The generators to run after the rewrite: every one package.json defines of these. */
export const GENERATORS = ['dashboards', 'k8s', 'openapi'] as const;

function regenerate(root: string): string[] {
  const scripts = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  const ran: string[] = [];
  for (const name of GENERATORS) {
    if (!(name in scripts)) continue;
    const r = spawnSync('npm', ['run', '--silent', name], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`npm run ${name} failed:\n${r.stderr.toString()}`);
    ran.push(name);
  }
  return ran;
}

/**
 * Formats the rewritten files with the project's formatter: a longer or shorter name shifts Markdown
 * table padding and line widths, and the lint step would refuse the renamed project otherwise.
 */
function format(root: string, files: readonly string[]): void {
  if (files.length === 0) return;
  const biome = join(root, 'node_modules', '.bin', 'biome');
  const r = spawnSync(biome, ['format', '--write', '--no-errors-on-unmatched', ...files], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`biome format failed:\n${r.stderr.toString()}`);
}

if (import.meta.main) {
  const to = process.argv[2];
  if (to === undefined || process.argv.length > 3) {
    console.error(
      'usage: npm run rename -- <new-name>   (a DNS label: a-z, 0-9, "-", at most 63 characters)',
    );
    process.exit(2);
  }
  if (!DNS_LABEL.test(to)) {
    console.error(
      `rename: "${to}" is not a valid name: it must be an RFC 1123 DNS label (lowercase a-z, 0-9 and "-", starting and ending with a letter or digit, at most 63 characters), because it becomes the compose project, the Prometheus job and Kubernetes object names.`,
    );
    process.exit(2);
  }
  const from = currentName();
  if (from === to) {
    console.log(`rename: the service is already named ${to}; nothing to change.`);
    process.exit(0);
  }
  const changes = rewrite(ROOT, from, to);
  for (const c of changes) console.log(`  ${c.file}: ${c.replacements} replaced`);
  const ran = regenerate(ROOT);
  format(
    ROOT,
    changes.map((c) => c.file),
  );
  console.log(
    `rename: ${from} -> ${to} in ${changes.length} files; regenerated with npm run ${ran.join(', npm run ')}. Review with git diff, then commit.`,
  );
  const left = spawnSync('git', ['grep', '-l', '-w', from], { cwd: ROOT, encoding: 'utf8' })
    .stdout.split('\n')
    .filter((f) => f !== '' && !RENAME_ALLOWLIST.some((a) => f.startsWith(a)));
  if (left.length > 0) console.log(`rename: ${from} still appears in: ${left.join(', ')}`);
}
