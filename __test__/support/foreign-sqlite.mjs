// Helpers for the specs of a second SQLite (better-sqlite3) in the store's process:
// foreign-sqlite.spec.mjs and foreign-sqlite-kernel.spec.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpDir as sharedTmpDir } from './files.mjs';

export const fixture = name => fileURLToPath(new URL(`../fixtures/foreign-sqlite/${name}`, import.meta.url));

export const dbFile = dir => path.join(dir, 'swingstore.sqlite');

/** A new directory for test `t`, named for these specs (support/files.mjs). */
export const tmpDir = (t, label) => sharedTmpDir(t, `foreign-sqlite-${label}`);

/**
 * What another process finds on disk: `{ integrity, state }`, read by check-store.cjs with
 * its own connection. Another process honours SQLite's locks, so this is what is committed.
 */
export const checkStore = (dir, vatID) => {
  const run = spawnSync(process.execPath, [fixture('check-store.cjs'), dir, vatID], { encoding: 'utf8' });
  if (run.status !== 0) throw Error(`check-store failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout);
};

/** `state` less the row counts, which only SQL can see: comparable with readWithStore. */
export const withoutRows = ({ rows: _rows, ...state }) => state;

/** Whether process `pid` holds a POSIX lock on `file` (per /proc/locks). */
export const holdsPosixLock = (pid, file) => {
  const { ino } = fs.statSync(file);
  const held = new RegExp(`^\\d+: POSIX +ADVISORY +\\w+ +${pid} +[0-9a-f]+:[0-9a-f]+:${ino} `, 'm');
  return held.test(fs.readFileSync('/proc/locks', 'utf8'));
};
