// The pattern of SwingSet's own slow-termination test, on our store: a kernel with xs-worker
// vats (heap snapshots every few deliveries) runs on `initSwingStore(dbDir)`, and the same
// process opens `dbDir/swingstore.sqlite` with better-sqlite3 to count the vat's snapshot and
// transcript rows between runs, then keeps running the kernel. After every run the counts the
// handle read must equal those on disk, and what another process reads (PRAGMA
// integrity_check, kvStore, activity hash, snapshot, transcript) must be what the store
// reports committed. Each run is a block with kernel work followed by an empty block (only
// the host's height changes, as on a chain with nothing to do), whose small commit is not
// followed by a checkpoint. Once with a handle opened and closed for each count, once with
// one handle kept open throughout (as the SwingSet test does).
import '@endo/init/debug.js';
import test from 'ava';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { buildKernelBundles, buildVatController } from '@agoric/swingset-vat';
import { initSwingStore } from '../lib/index.mjs';
import { dbFile, tmpDir, checkStore, withoutRows } from './support/foreign-sqlite.mjs';
import stateModule from './fixtures/foreign-sqlite/store-state.cjs';

const { readWithStore } = stateModule;
const vatSource = name => fileURLToPath(new URL(`./fixtures/foreign-sqlite/vats/${name}.js`, import.meta.url));
const RUNS = 6;
const BUMPS_PER_RUN = 7;

const config = {
  bootstrap: 'bootstrap',
  defaultManagerType: 'xs-worker',
  defaultReapInterval: 'never',
  snapshotInitial: 2,
  snapshotInterval: 5,
  vats: { bootstrap: { sourceSpec: vatSource('bootstrap') } },
  bundles: { counter: { sourceSpec: vatSource('counter') } },
};

let kernelBundlesP;
const getKernelBundles = () => (kernelBundlesP ??= buildKernelBundles());

const countRows = (db, vatID) => {
  const count = table => db.prepare(`SELECT COUNT(*) FROM ${table} WHERE vatID = ?`).pluck().get(vatID);
  return { snapshots: count('snapshots'), transcriptItems: count('transcriptItems') };
};

/**
 * Runs the kernel for RUNS runs, counting the counter vat's rows with `count` before each
 * and checking the store on disk after each; `count` opens (or reuses) the foreign handle.
 */
const runKernelCounting = async (t, label, makeCounter) => {
  const dir = tmpDir(t, label);
  const swingStore = initSwingStore(dir);
  const { kernelStorage, hostStorage } = swingStore;
  const counter = makeCounter(dbFile(dir));
  const controller = await buildVatController(config, [], {
    kernelStorage,
    kernelBundles: await getKernelBundles(),
  });
  t.teardown(async () => {
    await controller.shutdown();
    counter.close();
    await hostStorage.close();
  });
  controller.pinVatRoot('bootstrap');
  await controller.run();
  await hostStorage.commit();
  const vatID = JSON.parse(kernelStorage.kvStore.get('vat.dynamicIDs'))[0];

  let previous = { snapshots: 0, transcriptItems: 0 };
  for (let run = 1; run <= RUNS; run += 1) {
    const rows = counter.count(vatID);
    const disk = checkStore(dir, vatID);
    t.is(disk.integrity, 'ok', `run ${run}: integrity_check`);
    t.deepEqual(rows, disk.state.rows, `run ${run}: the handle counts what is on disk`);
    t.deepEqual(withoutRows(disk.state), readWithStore(swingStore, vatID), `run ${run}: another process reads what the store committed`);
    t.true(rows.transcriptItems > previous.transcriptItems, `run ${run}: the transcript grew`);
    t.true(rows.snapshots >= previous.snapshots, `run ${run}: snapshots kept`);
    previous = rows;

    const kpid = controller.queueToVatRoot('bootstrap', 'bump', [BUMPS_PER_RUN]);
    await controller.run();
    hostStorage.kvStore.set('host.height', String(2 * run));
    await hostStorage.commit();
    t.is(controller.kpStatus(kpid), 'fulfilled', `run ${run}`);
    hostStorage.kvStore.set('host.height', String(2 * run + 1));
    await hostStorage.commit();
  }
  t.true(previous.snapshots > 1, `the counter vat saved several snapshots (${previous.snapshots})`);
};

test.serial('a kernel with xs-worker snapshots keeps running while a better-sqlite3 handle is opened, counts rows and is closed between runs', async t => {
  await runKernelCounting(t, 'open-count-close', file => ({
    count: vatID => {
      const db = new Database(file);
      try {
        return countRows(db, vatID);
      } finally {
        db.close();
      }
    },
    close: () => {},
  }));
});

test.serial('a kernel with xs-worker snapshots keeps running beside a better-sqlite3 handle kept open to count rows', async t => {
  await runKernelCounting(t, 'kept-open', file => {
    const db = new Database(file);
    return { count: vatID => countRows(db, vatID), close: () => db.close() };
  });
});
