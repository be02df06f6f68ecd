// Brings a fresh clone (or a stale checkout) to a runnable state: installs the npm
// dependencies when package-lock.json changed, makes sure the native pieces the tests need were
// built (better-sqlite3 for @agoric/swing-store, the xsnap worker for xs-worker kernels; npm 11
// runs dependency install scripts only where package.json's allowScripts says so), and builds
// the native addon in release mode.
// Each step is skipped or incremental when already done, so every npm script can run it.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
const log = msg => process.stderr.write(`setup: ${msg}\n`);

const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  log('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

const nativeDependencies = [
  ['better-sqlite3', ['better-sqlite3', 'build', 'Release', 'better_sqlite3.node']],
  ['@agoric/xsnap', ['@agoric', 'xsnap', 'xsnap-native', 'xsnap', 'build', 'bin', 'lin', 'release', 'xsnap-worker']],
];
for (const [name, built] of nativeDependencies) {
  if (!existsSync(join(root, 'node_modules', ...built))) {
    log(`building ${name}`);
    run('npm', ['rebuild', name]);
  }
}

log('building the native addon (napi build --release; incremental)');
run('npx', ['napi', 'build', '--platform', '--release']);
