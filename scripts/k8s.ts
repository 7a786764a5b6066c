// Writes deploy/kubernetes/*.yaml from deploy/src (`npm run k8s`); with `render`, prints the whole
// rendered set as one multi-document YAML stream on stdout and writes nothing (`npm run k8s:render`).
// CI (test/deploy/manifests.test.ts) fails when the committed YAML differs from what this writes.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { files, renderStream } from '../deploy/src/index.ts';

if (process.argv[2] === 'render') {
  process.stdout.write(renderStream());
} else {
  const out = join(import.meta.dirname, '..', 'deploy', 'kubernetes');
  mkdirSync(out, { recursive: true });
  const wanted = files();
  // An object removed from the source must disappear from the base too.
  for (const f of readdirSync(out)) if (f.endsWith('.yaml') && !(f in wanted)) rmSync(join(out, f));
  for (const [file, text] of Object.entries(wanted)) {
    writeFileSync(join(out, file), text);
    process.stderr.write(`wrote deploy/kubernetes/${file}\n`);
  }
}
