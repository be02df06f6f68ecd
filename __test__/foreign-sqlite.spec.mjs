// A second copy of SQLite in the store's process: better-sqlite3 (what swing-store's
// `internal.db`, cosmic-swingset's tools and SwingSet's own tests use) opening, reading and
// closing swingstore.sqlite while our store writes it. Whatever that handle does, no commit
// may be lost or hidden from other openers and the file must stay intact: after every block
// a separate process (which honours SQLite's locks, so it reads exactly what is on disk)
// checks PRAGMA integrity_check and compares the committed state with what the store reported;
// at the end the writer is SIGKILLed and the file checked again. docs/foreign-sqlite.md
// explains the cause and the fix.
import test from 'ava';
import fs from 'node:fs';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { initSwingStore, KernelStore, auditRefcounts } from '../lib/index.mjs';
import { fixture, dbFile, tmpDir, checkStore, withoutRows, holdsPosixLock } from './support/foreign-sqlite.mjs';
import { makeProgress } from './support/progress.mjs';

const VAT = 'v1';
const BLOCKS = 10;

/**
 * Runs writer.mjs and hands out its block reports one at a time. Each report and each chunk it
 * writes to stderr is progress (support/progress.mjs): test `t` fails if the writer goes silent
 * while it is awaited, however long a slow machine takes over each block.
 */
const startWriter = (t, dir, pattern, blocks) => {
  const progress = makeProgress();
  progress.watch(t);
  const child = spawn(process.execPath, [fixture('writer.mjs'), dir, pattern, String(blocks)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', chunk => {
    stderr += chunk;
    progress.tick();
  });
  const exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => child.kill('SIGKILL'));
  const reports = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    nextReport: async () => {
      const { value, done } = await reports.next();
      progress.tick();
      if (done) throw Error(`writer exited (${JSON.stringify(await exited)}) without a report: ${stderr}`);
      return JSON.parse(value);
    },
    next: () => child.stdin.write('next\n'),
    kill: async () => {
      child.kill('SIGKILL');
      return exited;
    },
  };
};

/**
 * Runs `blocks` blocks of `pattern`, checking every reported block on disk, then SIGKILLs the
 * writer and checks the file again. Returns the reports (a block that failed has `error`).
 */
const runChecked = async (t, pattern, blocks = BLOCKS) => {
  const dir = tmpDir(t, pattern);
  const writer = startWriter(t, dir, pattern, blocks);
  const reports = [];
  let lastCommitted;
  for (let i = 0; i < blocks; i += 1) {
    const report = await writer.nextReport();
    reports.push(report);
    if (report.error) break;
    lastCommitted = report.ours;
    const disk = checkStore(dir, VAT);
    t.is(disk.integrity, 'ok', `block ${report.block}: integrity_check`);
    t.deepEqual(withoutRows(disk.state), report.ours, `block ${report.block}: another process reads the block just committed`);
    if (i + 1 < blocks) writer.next();
  }
  await writer.kill();
  const afterKill = checkStore(dir, VAT);
  t.is(afterKill.integrity, 'ok', 'integrity_check after SIGKILL');
  t.deepEqual(withoutRows(afterKill.state), lastCommitted, 'after SIGKILL the file holds the last committed block');
  return { dir, reports };
};

/** The handle's read of a block must be what the store committed (rows as on disk). */
const assertForeignReads = (t, reports, expected = report => report.ours) => {
  for (const [index, report] of reports.entries()) {
    t.falsy(report.foreign.error, `block ${report.block}: ${JSON.stringify(report.foreign.error)}`);
    const wanted = expected(report, index);
    if (wanted) t.deepEqual(withoutRows(report.foreign), wanted, `block ${report.block}: what the handle read`);
  }
};

test('a better-sqlite3 handle opened, read and closed after every block loses no commit', async t => {
  const { reports } = await runChecked(t, 'open-read-close');
  assertForeignReads(t, reports);
});

test('a better-sqlite3 handle kept open across blocks reads each committed block and loses none', async t => {
  const { reports } = await runChecked(t, 'kept-open');
  assertForeignReads(t, reports);
});

test('a better-sqlite3 handle opened, read and closed inside an open block sees the previous commit and loses none', async t => {
  const { reports } = await runChecked(t, 'inside-block');
  const previous = (_report, index) => (index === 0 ? undefined : reports[index - 1].ours);
  assertForeignReads(t, reports, previous);
});

test("our own read-only openers and audits in the same process work beside a better-sqlite3 handle", async t => {
  const { reports } = await runChecked(t, 'own-readers');
  assertForeignReads(t, reports);
  for (const report of reports) {
    const { block, auditScanned, auditErrors } = report.own;
    t.is(block, String(report.block), `block ${report.block}: our read-only store`);
    t.true(auditScanned > 0 && auditErrors === 0, `block ${report.block}: our audit ${JSON.stringify(report.own)}`);
  }
});

test("the handle's close leaves the write-ahead log the store is writing in place", async t => {
  const dir = tmpDir(t, 'wal-kept');
  const { kernelStorage, hostStorage } = initSwingStore(dir);
  t.teardown(() => hostStorage.close());
  const commitBlock = async block => {
    kernelStorage.startCrank();
    kernelStorage.kvStore.set('block', String(block));
    kernelStorage.endCrank();
    await hostStorage.commit();
  };
  await commitBlock(1);
  const wal = `${dbFile(dir)}-wal`;
  const before = fs.statSync(wal).ino;
  const db = new Database(dbFile(dir));
  t.is(db.prepare("SELECT value FROM kvStore WHERE key = 'block'").pluck().get(), '1');
  db.close();
  t.true(fs.existsSync(wal), 'the handle did not delete the store’s -wal');
  t.is(fs.statSync(wal).ino, before);
  await commitBlock(2);
  t.is(checkStore(dir, VAT).state.block, '2', 'the next commit reaches the file other openers read');
});

test('a better-sqlite3 write during an open block waits for the block\'s write lock, as another process would', async t => {
  const dir = tmpDir(t, 'their-write');
  const { kernelStorage, hostStorage } = initSwingStore(dir);
  t.teardown(() => hostStorage.close());
  kernelStorage.transcriptStore.initTranscript(VAT); // the block's first write takes the write lock
  const db = new Database(dbFile(dir), { timeout: 200 });
  t.teardown(() => db.close());
  const write = () => db.prepare("INSERT INTO kvStore VALUES ('written.by', 'them')").run();
  t.throws(write, { code: 'SQLITE_BUSY' });
  await hostStorage.commit();
  write();
  const disk = checkStore(dir, VAT);
  t.is(disk.integrity, 'ok');
  t.deepEqual(disk.state.transcriptEnd, 0, 'our block is on disk');
  t.is(db.prepare("SELECT value FROM kvStore WHERE key = 'written.by'").pluck().get(), 'them', 'and so is their later write');
});

test('closing the store leaves a better-sqlite3 handle in this process its locks, its files and the last commit', async t => {
  const dir = tmpDir(t, 'their-locks');
  const { kernelStorage, hostStorage } = initSwingStore(dir);
  kernelStorage.startCrank();
  kernelStorage.kvStore.set('block', '1');
  kernelStorage.endCrank();
  await hostStorage.commit();
  const db = new Database(dbFile(dir));
  t.teardown(() => db.close());
  const readBlock = () => db.prepare("SELECT value FROM kvStore WHERE key = 'block'").pluck().get();
  t.is(readBlock(), '1');
  t.true(holdsPosixLock(process.pid, dbFile(dir)), 'the handle holds its shared lock (WAL keeps it)');
  // Our own read-only connections come and go while the writer is open...
  const reader = KernelStore.open(dir, { readonly: true });
  reader.kvStore.get('block');
  reader.close();
  auditRefcounts(dir);
  // ...and then the writer, our last connection to the file, closes.
  await hostStorage.close();
  t.true(holdsPosixLock(process.pid, dbFile(dir)), "the handle's lock survives our close");
  t.true(fs.existsSync(`${dbFile(dir)}-wal`) && fs.existsSync(`${dbFile(dir)}-shm`), 'its -wal and -shm are not deleted under it');
  t.is(readBlock(), '1');
});

test('a write-ahead log removed under the writer fails the next commit with ERR_FOREIGN_SQLITE, losing no earlier commit', async t => {
  const { dir, reports } = await runChecked(t, 'remove-wal', 4);
  const failed = reports.at(-1);
  t.is(failed.block, 3);
  t.is(failed.error?.code, 'ERR_FOREIGN_SQLITE', JSON.stringify(failed));
  t.true(failed.error.message.startsWith(`${dbFile(dir)}-wal was removed while this store had it open`), failed.error.message);
  t.regex(failed.error.message, /another SQLite library in this process/);
  t.regex(failed.error.message, /The block was not committed/);
});
