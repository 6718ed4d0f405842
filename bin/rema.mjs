#!/usr/bin/env node
// Runs the compiled JavaScript in dist/, building it from src/ first when it is missing or older
// than the sources (a fraction of a second), so a fresh clone needs no separate build step and an
// edited tree never runs stale code. Stack traces point into the TypeScript through source maps.
// Heap sizing for a server is set by bin/rema, the launcher (docs/operations.md, "Memory").
import { build, distEntry } from '../scripts/build.mjs';

let entry = distEntry;
try {
  await build();
} catch (err) {
  // A tree where dist/ cannot be written (a read-only install): run the sources as they are.
  console.error(`rema: cannot build dist/ (${err instanceof Error ? err.message : String(err)}); running the TypeScript sources`);
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url).pathname;
}
process.setSourceMapsEnabled(true);
await import(entry);
