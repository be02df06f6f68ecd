// A SIGKILL anywhere in a state-sync import never leaves a directory that opens as a complete
// store. A child process (fixtures/state-sync/import-child.mjs) imports an archival export of a
// store of some size (thousands of kvStore entries, vats with spans and snapshots, bundles) from
// files, as import-kernel-db.js does, then commits and closes; it stops at each point of
// progress until this process answers. Each trial kills it at a chosen point: while it waits
// there, or just after it was told to go on (so the kill falls in whatever comes next: native
// work, the commit, the rename of the staged file). The points are chosen by a seeded PRNG
// among the child's own progress lines, never by the clock, so a slow machine moves no kill.
// After each kill the directory must hold no store, or the whole import. Every trial imports
// into the same directory, over whatever the last one left.
import '@endo/init/debug.js';
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { IMPLS, makeBundles, applyOp, observeStore } from './support/state-sync.mjs';
import { writeExportDir, makeAsyncFileExporter } from './support/export-files.mjs';
import { mulberry32 } from './support/prng.mjs';
import { runWatched } from './support/child-process.mjs';
import { makeTempDir, removeTempDirs } from './kernel-helpers.mjs';

const CHILD = fileURLToPath(new URL('./fixtures/state-sync/import-child.mjs', import.meta.url));
const SEED = Number(process.env.IMPORT_CRASH_SEED ?? 11);
const RANDOM_TRIALS = 24;
const ARTIFACT_MODE = 'archival';

test.after.always(removeTempDirs);

/** A store of some size: 3000 kvStore entries, 8 vats each with two spans and a snapshot, two bundles. */
const buildSource = async dir => {
  const bundles = await makeBundles(1);
  const store = IMPLS.ours.initSwingStore(dir);
  const ops = [{ type: 'startCrank' }];
  for (let i = 0; i < 3000; i += 1) ops.push({ type: 'set', key: `k${i}`, value: `value ${i} ${'x'.repeat(i % 60)}` });
  for (let v = 1; v <= 8; v += 1) {
    const vatID = `v${v}`;
    ops.push({ type: 'initTranscript', vatID });
    for (let i = 0; i < 100; i += 1) ops.push({ type: 'addItem', vatID, item: `["deliver",${i},"${'y'.repeat(i)}"]` });
    ops.push({ type: 'snapshotCycle', vatID, snapPos: 100, size: 150_000 + v, seed: v });
    for (let i = 0; i < 50; i += 1) ops.push({ type: 'addItem', vatID, item: `["deliver",${100 + i}]` });
  }
  ops.push({ type: 'addBundle', index: 0 }, { type: 'addBundle', index: 1 }, { type: 'emit' }, { type: 'endCrank' });
  ops.push({ type: 'hostSet', key: 'host.height', value: '1' }, { type: 'commit' });
  for (const op of ops) await applyOp(store, op, bundles);
  await store.hostStorage.close();
};

/**
 * Runs the child into `storeDir`. With `kill: { line, blocked }` it is killed at its
 * `line`-th progress line: while it waits there (`blocked`), or just after it is told to go
 * on. Resolves with how many progress lines it printed and how it ended.
 */
const runChild = async (exportDir, storeDir, kill) => {
  let lines = 0;
  const run = await runWatched(CHILD, [exportDir, storeDir, ARTIFACT_MODE], (line, child) => {
    if (!line.startsWith('P ')) return;
    lines += 1;
    if (kill && lines === kill.line) {
      if (!kill.blocked) child.stdin.write('\n');
      child.kill('SIGKILL');
    } else {
      child.stdin.write('\n');
    }
  });
  return { ...run, lines };
};

let exportDir;
let expected;
let progressLines;
let lastLines;

test.before(async t => {
  const sourceDir = makeTempDir('import-crash-source');
  await buildSource(sourceDir);
  exportDir = path.join(makeTempDir('import-crash-export'), 'export');
  await writeExportDir(IMPLS.ours.makeSwingStoreExporter(sourceDir, { artifactMode: ARTIFACT_MODE }), exportDir, { artifactMode: ARTIFACT_MODE });
  // What the child makes when nothing stops it, as this process makes it.
  const referenceDir = path.join(makeTempDir('import-crash-reference'), 'store');
  const { hostStorage } = await IMPLS.ours.importSwingStore(makeAsyncFileExporter(exportDir), referenceDir, { artifactMode: ARTIFACT_MODE });
  hostStorage.kvStore.set('host.height', '1');
  await hostStorage.commit();
  await hostStorage.close();
  expected = await observeStore('ours', referenceDir);

  const fullRun = path.join(makeTempDir('import-crash-full'), 'store');
  const run = await runChild(exportDir, fullRun);
  if (run.code !== 0) throw Error(`the import child failed on its own (${run.code ?? run.signal})\n${run.stderr}`);
  progressLines = run.lines;
  t.deepEqual(await observeStore('ours', fullRun), expected, 'the child, left alone, imports what this process imports');
  // The last three progress lines are 'imported', 'committed' and 'closed'.
  lastLines = { imported: progressLines - 2, committed: progressLines - 1 };
});

test('the export is of some size, and the child stops at many points of progress', t => {
  const bytes = fs.readdirSync(exportDir).reduce((sum, name) => sum + fs.statSync(path.join(exportDir, name)).size, 0);
  t.true(bytes > 1_000_000, `the export is only ${bytes} bytes`);
  t.true(progressLines > 40, `only ${progressLines} progress lines`);
});

test('a SIGKILL at any point of an import leaves no store, or the complete import', async t => {
  const rand = mulberry32(SEED);
  const storeDir = path.join(makeTempDir('import-crash-trials'), 'store');
  // Aimed: just after the import was told to commit (the commit and the staged file's rename
  // run while the kill is on its way), and at the points either side of the commit.
  const trials = [
    { line: lastLines.imported, blocked: true },
    { line: lastLines.imported, blocked: false },
    { line: lastLines.imported, blocked: false },
    { line: lastLines.committed, blocked: true },
    ...Array.from({ length: RANDOM_TRIALS }, () => ({ line: 1 + Math.floor(rand() * progressLines), blocked: rand() < 0.5 })),
  ];
  const outcomes = { noStore: 0, complete: 0 };
  for (const [i, kill] of trials.entries()) {
    const run = await runChild(exportDir, storeDir, kill);
    const where = `trial ${i}: killed at progress line ${kill.line} of ${progressLines}${kill.blocked ? ', waiting there' : ', just after it went on'}`;
    t.is(run.signal, 'SIGKILL', `${where}: the child ended by ${run.code}\n${run.stderr}`);
    if (IMPLS.ours.isSwingStore(storeDir)) {
      outcomes.complete += 1;
      t.deepEqual(await observeStore('ours', storeDir), expected, `${where}: the directory holds a store that is not the whole import`);
    } else {
      outcomes.noStore += 1;
      // Deliberately unlike swing-store, which writes swingstore.sqlite in place (journal
      // off), so that a killed import leaves a file that opens as a store holding part of
      // the import: ours builds the import in a side file that only becomes
      // swingstore.sqlite at the first commit. A kill may leave that side file; the next
      // import replaces it.
      const leftovers = fs.existsSync(storeDir) ? fs.readdirSync(storeDir) : [];
      t.deepEqual(leftovers.filter(name => !/^swingstore-import\.sqlite(-journal|-wal|-shm)?$/.test(name)), [], `${where}: ${leftovers}`);
    }
  }
  t.true(outcomes.noStore > 0 && outcomes.complete > 0, `every kill left the same outcome: ${JSON.stringify(outcomes)}`);

  const retry = await runChild(exportDir, storeDir);
  t.is(retry.code, 0, `an import over what the last kill left failed\n${retry.stderr}`);
  t.deepEqual(await observeStore('ours', storeDir), expected);
});
