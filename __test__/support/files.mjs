// Files the specs and their child processes share. A file a child may be killed while writing
// is written under a temporary name and renamed (a reader sees the old file or the new one,
// never half of one); a log it appends to is read up to its last complete line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A new directory under the OS temp dir, removed when test `t` ends. */
export const tmpDir = (t, label) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

/** Writes `data` to `file` whole or not at all: into a temporary file beside it, then renamed. */
export const writeFileAtomic = (file, data) => {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, data);
  fs.renameSync(temporary, file);
};

/**
 * The complete lines of an append-only log another process wrote: a line the writer was
 * killed in the middle of (no newline yet) was never written, so it is left out.
 */
export const completeLines = file => fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
