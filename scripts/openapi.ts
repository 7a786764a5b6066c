// `npm run openapi`: writes docs/openapi.json from service/src/openapi/document.ts and the problem-type
// table of docs/contract.md from service/src/errors/problem-types.ts (service/test/openapi.test.ts
// fails when either committed file differs from what the sources give).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { platformProblemTypes, problemTypeUri } from '../service/src/errors/problem-types.ts';
import { renderOpenApiDocument } from '../service/src/openapi/document.ts';

export const OPENAPI_FILE = join(import.meta.dirname, '..', 'docs', 'openapi.json');
export const CONTRACT_FILE = join(import.meta.dirname, '..', 'docs', 'contract.md');

const TABLE_START =
  '<!-- The problem types: written by `npm run openapi` from service/src/errors/problem-types.ts. -->';
const TABLE_END = '<!-- End of the problem types. -->';

/** A Markdown table, each column padded to its widest cell. */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The contract's table of the platform's problem types, one row each, in the catalogue's order. */
export function problemTypesTable(): string {
  const rows = platformProblemTypes().map((p) => [
    `\`${problemTypeUri(p.slug)}\``,
    p.contract?.status ?? p.statuses.join(', '),
    p.contract?.when ?? p.when,
    p.contract?.extra ?? '–',
  ]);
  return markdownTable(['`type`', 'status', 'when', 'extra members'], rows);
}

/** `markdown` (docs/contract.md) with the table between its markers written anew. */
export function withProblemTypesTable(markdown: string): string {
  const start = markdown.indexOf(TABLE_START);
  const end = markdown.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`${CONTRACT_FILE}: the problem-type table markers are missing`);
  return `${markdown.slice(0, start)}${TABLE_START}\n\n${problemTypesTable()}\n\n${markdown.slice(end)}`;
}

if (import.meta.main) {
  writeFileSync(OPENAPI_FILE, renderOpenApiDocument());
  console.log(`wrote ${OPENAPI_FILE}`);
  writeFileSync(CONTRACT_FILE, withProblemTypesTable(readFileSync(CONTRACT_FILE, 'utf8')));
  console.log(`wrote the problem-type table of ${CONTRACT_FILE}`);
}
