/**
 * `npm run console:api`: writes the server's OpenAPI document and the console's generated
 * API types (console/src/api/openapi.json, schema.d.ts). Run it after changing a route.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openApiSpecOf, renderApiTypes, specFile, specText, typesFile, withScratchDatabase } from './api-spec.ts';

const spec = await withScratchDatabase(openApiSpecOf);
writeFileSync(specFile, specText(spec));
writeFileSync(typesFile, await renderApiTypes(spec));
const paths = Object.keys((spec.paths ?? {}) as object).length;
console.log(`wrote ${path.relative(process.cwd(), specFile)} and ${path.relative(process.cwd(), typesFile)} (${paths} paths)`);
process.exit(0);
