// `npm run openapi`: writes docs/openapi.json from service/src/openapi/document.ts (test/openapi.test.ts fails
// when the committed file differs from what the sources give).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderOpenApiDocument } from '../service/src/openapi/document.ts';

export const OPENAPI_FILE = join(import.meta.dirname, '..', 'docs', 'openapi.json');

if (import.meta.main) {
  writeFileSync(OPENAPI_FILE, renderOpenApiDocument());
  console.log(`wrote ${OPENAPI_FILE}`);
}
