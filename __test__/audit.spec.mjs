// The refcount audit on real kernel stores: clean at every crank boundary of a real run,
// and the deliberate corruption and the upstream termination leak found, with their holders.
import '@endo/init/debug.js';
import test from 'ava';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildKernelBundles } from '@agoric/swingset-vat';
import { initSwingStore as initTheirs, openSwingStore as openTheirs } from '@agoric/swing-store';
import { initSwingStore as initOurs, auditRefcounts } from '../lib/index.mjs';
import { startKernel, dynamicVatID } from '../demo/kernel-scenario.mjs';
import { makeTempDir, removeTempDirs } from './kernel-helpers.mjs';
import { makeProgress } from './support/progress.mjs';

const cli = fileURLToPath(new URL('../bin/kernel-store.mjs', import.meta.url));
const runCli = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

/** The bootstrap result promise: the kernel's first kpid, held by the host forever (X1). */
const BOOTSTRAP_RESULT = 'kp40';

/** Every crank a test runs is progress: a test fails only when its kernel stops moving. */
const progress = makeProgress();

let kernelBundles;
test.before(async t => {
  progress.watch(t);
  kernelBundles = await buildKernelBundles();
});
test.after.always(removeTempDirs);

/**
 * Runs `steps` of the kernel scenario on `swingStore`, one crank at a time, committing after
 * each crank; `afterCrank(external)` is called at every crank boundary with the krefs the
 * host holds outside the store at that moment. Returns the marker object's kref.
 */
const runCrankByCrank = async (swingStore, steps, afterCrank = () => {}) => {
  const controller = await startKernel(swingStore, 'local', { kernelBundles });
  let marker;
  try {
    for (const step of steps) {
      const kpid = controller.queueToVatRoot('bootstrap', step, [], 'ignore');
      await swingStore.hostStorage.commit();
      const external = [BOOTSTRAP_RESULT, kpid];
      afterCrank(external, `${step}: queued`);
      let cranks = 0;
      while (await controller.step()) {
        await swingStore.hostStorage.commit();
        cranks += 1;
        progress.tick();
        afterCrank(external, `${step}: crank ${cranks}`);
      }
      const vatID = dynamicVatID(swingStore.kernelStorage.kvStore);
      const retained = vatID && swingStore.kernelStorage.kvStore.get(`${vatID}.vatParameters`);
      marker ??= retained && JSON.parse(retained).slots[0];
      controller.kpResolution(kpid, { incref: false });
      await swingStore.hostStorage.commit();
      afterCrank([BOOTSTRAP_RESULT], `${step}: resolved`);
    }
  } finally {
    await controller.shutdown();
  }
  return marker;
};

test.serial('a real kernel run on ours audits clean at every crank boundary', async t => {
  progress.watch(t);
  const dir = makeTempDir('audit-clean');
  const swingStore = initOurs(dir);
  let audits = 0;
  const check = (external, where) => {
    const report = auditRefcounts(dir, { external });
    audits += 1;
    t.deepEqual([...report.errors, ...report.warnings], [], `${where}: ${JSON.stringify(report)}`);
  };
  await runCrankByCrank(
    swingStore,
    ['create', 'upgradeWithParameters', 'upgradeWithoutParameters', 'terminate'],
    check,
  );
  await swingStore.hostStorage.close();
  t.true(audits > 50, `audited ${audits} crank boundaries`);
});

test.serial('a deliberately corrupted refcount is reported with the kref, both counts and its holders', async t => {
  progress.watch(t);
  const dir = makeTempDir('audit-corrupt');
  const swingStore = initOurs(dir);
  const marker = await runCrankByCrank(swingStore, ['create']);
  await swingStore.hostStorage.close();
  t.truthy(marker);

  // Corrupt the committed count behind the kernel's back, as a storage bug would.
  const raw = openTheirs(dir).internal;
  const stored = raw.kvStore.get(`${marker}.refCount`);
  raw.kvStore.set(`${marker}.refCount`, '9,9');
  await raw.db.exec('COMMIT');
  raw.db.close();

  const report = auditRefcounts(dir, { external: [BOOTSTRAP_RESULT] });
  const finding = report.warnings.find(f => f.kref === marker);
  t.like(finding, { kind: 'surplus', stored: '9,9', computed: stored });
  t.true(finding.holders.some(h => h.key.endsWith('.vatParameters')), JSON.stringify(finding.holders));

  const r = runCli('audit', dir, '--external', BOOTSTRAP_RESULT);
  t.is(r.status, 1);
  t.regex(r.stdout, new RegExp(`surplus ${marker}`));
  t.regex(r.stdout, new RegExp(`stored 9,9, computed ${stored}`));
  t.regex(r.stdout, /held by v\d+\.vatParameters/);
});

test.serial('the upstream termination leak on @agoric/swing-store is reported as a surplus on the retained object', async t => {
  progress.watch(t);
  const dir = makeTempDir('audit-leak');
  const swingStore = initTheirs(dir);
  // Terminated while its vatParameters still hold the marker: the kernel deletes the key
  // without releasing the count (docs/refcounts.md §3).
  const marker = await runCrankByCrank(swingStore, ['create', 'terminate']);
  await swingStore.hostStorage.close();

  const report = auditRefcounts(dir, { external: [BOOTSTRAP_RESULT] });
  t.deepEqual(report.errors, []);
  const leak = report.warnings.find(f => f.kref === marker);
  t.like(leak, { kind: 'surplus' });
  const [storedR] = leak.stored.split(',').map(Number);
  const [computedR] = leak.computed.split(',').map(Number);
  t.is(storedR - computedR, 1, 'exactly the one count the deleted vatParameters held');
  t.false(leak.holders.some(h => h.key.endsWith('.vatParameters')));
  t.is(runCli('audit', path.resolve(dir), '--external', BOOTSTRAP_RESULT).status, 1);
});
