// Compiles src/ to dist/ — one JavaScript file per TypeScript file, with source maps — when
// dist/ is missing or older than the sources. rema runs the compiled files (bin/rema.mjs): a
// process that compiles TypeScript as it loads keeps a loader thread and its code in memory
// for its whole life (docs/operations.md, "Memory").
//
// `node scripts/build.mjs` builds if needed (npm start, npm test and npm run build call it);
// `--force` always builds. Takes a fraction of a second; nothing is type-checked here
// (`npm run typecheck` does that).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const srcDir = path.join(root, 'src');
export const distDir = path.join(root, 'dist');
/** The compiled entry point of the CLI. */
export const distEntry = path.join(distDir, 'cli', 'main.js');
const STAMP = '.build.json';
// Bumped when the output's shape changes, so an older dist/ is rebuilt.
const FORMAT = 1;

/** Every TypeScript file under src/ that rema runs: tests stay out. */
function sources(dir = srcDir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) sources(file, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts')) out.push(file);
  }
  return out;
}

/** What the build is made from: the file list with each file's size and mtime, and the format. */
function sourceKey(files) {
  const hash = createHash('sha256').update(`format ${FORMAT}\n`);
  for (const file of files.sort()) {
    const s = statSync(file);
    hash.update(`${path.relative(srcDir, file)} ${s.size} ${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function builtKey() {
  try {
    return JSON.parse(readFileSync(path.join(distDir, STAMP), 'utf8')).key;
  } catch {
    return undefined;
  }
}

/** Whether dist/ matches the sources as they are now. */
export function isBuilt() {
  return builtKey() === sourceKey(sources());
}

/**
 * Builds dist/ from src/ unless it is up to date; returns whether it built. Several processes
 * may call this at once (tests start many servers): each builds into a folder of its own and
 * moves it into place, so a reader never sees a half-written dist/.
 */
export async function build({ force = false } = {}) {
  const files = sources();
  const key = sourceKey(files);
  if (!force && builtKey() === key) return false;
  const esbuild = await import('esbuild');
  const tmp = `${distDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const old = `${distDir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await esbuild.build({
      entryPoints: files,
      outdir: tmp,
      outbase: srcDir,
      // "bundle" only to rewrite each import: every one stays external, so each file compiles to
      // one file, and `./x.ts` becomes `./x.js`. dist/ sits beside src/, so paths that a module
      // resolves from import.meta.url (migrations, console/dist) stay the same.
      bundle: true,
      plugins: [externalImports],
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      // Stack traces need the mappings, not a second copy of the sources.
      sourcesContent: false,
      logLevel: 'warning',
    });
    writeFileSync(path.join(tmp, STAMP), `${JSON.stringify({ key, builtAt: new Date().toISOString(), files: files.length })}\n`);
    if (existsSync(distDir)) renameSync(distDir, old);
    try {
      renameSync(tmp, distDir);
    } catch (err) {
      // Another process moved its (identical) build into place first.
      if (!existsSync(path.join(distDir, STAMP))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    await esbuild.stop?.();
  }
  return true;
}

const externalImports = {
  name: 'external-imports',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path.startsWith('.')) return { path: args.path.replace(/\.ts$/, '.js'), external: true };
      return { path: args.path, external: true };
    });
  },
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  mkdirSync(path.dirname(distDir), { recursive: true });
  const built = await build({ force: process.argv.includes('--force') });
  console.log(built ? `built dist/ from src/ in ${Date.now() - started} ms` : 'dist/ is up to date');
}
