// Brings a fresh clone (or a stale checkout) to a runnable state: installs the npm
// dependencies when package-lock.json changed, builds better-sqlite3 for @agoric/swing-store
// (npm 11 blocks dependency install scripts), and builds the native addon in release mode.
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

const sqliteAddon = join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
if (!existsSync(sqliteAddon)) {
  log('building better-sqlite3 for @agoric/swing-store');
  run('npm', ['rebuild', 'better-sqlite3']);
}

log('building the native addon (napi build --release; incremental)');
run('npx', ['napi', 'build', '--platform', '--release']);
