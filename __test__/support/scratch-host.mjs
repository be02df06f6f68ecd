// Scratch npm hosts for the specs that install packages into a package of their own: the
// results of their commands, the nested npm's environment, and installed hosts kept under the
// OS temp dir between runs, so that a tree as large as @agoric/cosmic-swingset's is installed
// once. Commands run through support/progress.mjs's runCommand: what they print is progress.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from './progress.mjs';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));

/** The tail of a command's output, for failure messages. */
export const tail = ({ stdout, stderr }) =>
  `--- stdout ---\n${stdout.slice(-3000)}\n--- stderr ---\n${stderr.slice(-3000)}`;

export const mustSucceed = (result, what) => {
  if (result.code !== 0) throw Error(`${what} failed (${result.code})\n${tail(result)}`);
  return result;
};

/** The JSON a host program printed on its one `PREFIX {json}` line. */
export const resultLine = (result, prefix) => {
  const line = result.stdout.split('\n').find(l => l.startsWith(`${prefix} `));
  if (!line) throw Error(`no ${prefix} line\n${tail(result)}`);
  return JSON.parse(line.slice(prefix.length + 1));
};

/**
 * The environment for the nested npm: without the npm_* variables `npm test` sets for this
 * package (npm_config_local_prefix and friends would point npm at this directory), keeping only
 * where the cache and user config are.
 */
export const npmEnv = () => {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) || /^npm_config_(cache|userconfig)$/i.test(k)) env[k] = v;
  }
  return env;
};

export const NPM_INSTALL = ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'];
/** At the `http` log level npm prints each request: its progress, however slow the network. */
const NPM_PROGRESS = '--loglevel=http';

/**
 * swing-store loads better-sqlite3, whose native build `--ignore-scripts` skipped in a host. The
 * same version as this package's (which its own tests load) is the same binary: copied. Another
 * version is built, in the foreground: the compiler's output is the build's progress.
 */
export async function provideBetterSqlite(hostDir, progress) {
  const binary = path.join('build', 'Release', 'better_sqlite3.node');
  const hostCopy = path.join(hostDir, 'node_modules', 'better-sqlite3');
  const ourCopy = path.join(packageDir, 'node_modules', 'better-sqlite3');
  const version = dir => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  if (version(hostCopy) === version(ourCopy) && fs.existsSync(path.join(ourCopy, binary))) {
    fs.mkdirSync(path.join(hostCopy, path.dirname(binary)), { recursive: true });
    fs.copyFileSync(path.join(ourCopy, binary), path.join(hostCopy, binary));
  } else {
    const rebuild = ['rebuild', '--foreground-scripts', 'better-sqlite3'];
    mustSucceed(await runCommand(progress, 'npm', rebuild, { cwd: hostDir, env: npmEnv() }), 'npm rebuild better-sqlite3');
  }
}

const CACHE_ROOT = path.join(os.tmpdir(), 'sks-scratch-hosts');
const UNUSED_MS = 7 * 24 * 3600_000;
// Far longer than any install takes: one this old was interrupted.
const UNFINISHED_MS = 24 * 3600_000;
const LAST_USED = '.last-used';

/** sha256 over a directory's relative paths and file contents. */
const hashTree = (hash, dir, rel = '') => {
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const child = path.join(rel, entry.name);
    hash.update(`${child}\n`);
    if (entry.isDirectory()) hashTree(hash, dir, child);
    else hash.update(fs.readFileSync(path.join(dir, child)));
  }
};

/** Removes this label's hosts no run has used for a week, and its interrupted installs. */
const pruneStale = (label, keep) => {
  const now = Date.now();
  for (const name of fs.readdirSync(CACHE_ROOT)) {
    if (!name.startsWith(`${label}-`) || name === keep) continue;
    const dir = path.join(CACHE_ROOT, name);
    // A run pruning concurrently may have removed it already.
    const stat = fs.statSync(path.join(dir, LAST_USED), { throwIfNoEntry: false }) ?? fs.statSync(dir, { throwIfNoEntry: false });
    const limit = name.includes('.partial-') ? UNFINISHED_MS : UNUSED_MS;
    if (stat && now - stat.mtimeMs > limit) fs.rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * An installed host: `manifest` as its package.json, the directories `trees` (name -> source
 * directory) copied in beside it, `npm install --ignore-scripts --prefer-offline` (each line it
 * prints a tick of `progress`, support/progress.mjs), then `afterInstall(dir)`. It is installed
 * once per content (the manifest, the trees' files, the Node version and `afterInstall`'s
 * source) into `<os tmpdir>/sks-scratch-hosts/<label>-<key>` and reused by later runs. An
 * install goes into a directory of its own, renamed into place only when complete, so an
 * interrupted or concurrent run never leaves or sees a half-installed host. `files` (name ->
 * source file) are copied in on every call (atomically): programs a spec runs in the host, free
 * to change without a reinstall. Resolves with { dir, installSeconds }, installSeconds being 0
 * when the host was reused.
 */
export async function provideHost({ label, manifest, progress, trees = {}, files = {}, afterInstall = async () => {} }) {
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify({ manifest, node: process.version, platform: process.platform, arch: process.arch }));
  hash.update(afterInstall.toString());
  for (const [name, source] of Object.entries(trees).sort()) {
    hash.update(`tree ${name}\n`);
    hashTree(hash, source);
  }
  const name = `${label}-${hash.digest('hex').slice(0, 16)}`;
  const dir = path.join(CACHE_ROOT, name);
  fs.mkdirSync(CACHE_ROOT, { recursive: true });
  let installSeconds = 0;
  if (!fs.existsSync(dir)) {
    // A sibling of `dir`, so that the relative links npm writes for `file:` dependencies stay
    // right after the rename.
    const staging = fs.mkdtempSync(`${dir}.partial-`);
    try {
      fs.writeFileSync(path.join(staging, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      for (const [treeName, source] of Object.entries(trees)) {
        fs.cpSync(source, path.join(staging, treeName), { recursive: true });
      }
      const install = mustSucceed(
        await runCommand(progress, 'npm', [...NPM_INSTALL, NPM_PROGRESS], { cwd: staging, env: npmEnv() }),
        `npm install (${label})`,
      );
      await afterInstall(staging);
      installSeconds = install.seconds;
      fs.renameSync(staging, dir);
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      // Another run finished the same install first: use its host.
      if (!fs.existsSync(dir)) throw error;
    }
  }
  for (const [fileName, source] of Object.entries(files)) {
    const staged = path.join(dir, `.${fileName}.${process.pid}.tmp`);
    fs.copyFileSync(source, staged);
    fs.renameSync(staged, path.join(dir, fileName));
  }
  fs.writeFileSync(path.join(dir, LAST_USED), '');
  pruneStale(label, name);
  return { dir, installSeconds };
}
