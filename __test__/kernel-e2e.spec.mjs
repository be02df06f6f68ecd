// End to end with the real SwingSet kernel (@agoric/swingset-vat 0.33.0, unchanged): the scenario
// of demo/kernel-scenario.mjs (create a dynamic vat with an object in its vatParameters, upgrade
// it with and without vatParameters, terminate it) runs once on ours and once on
// @agoric/swing-store 0.10.0, each on disk in its own temp dir, for both 'local' and 'xs-worker'
// workers. After initialization and after every step we record the step's answer, the whole
// kvStore and the activityhash; the tests below then check one behaviour each on those records.
import '@endo/init/debug.js';
import test from 'ava';
import { buildKernelBundles } from '@agoric/swingset-vat';
import { initSwingStore as initTheirs } from '@agoric/swing-store';
import { initSwingStore as initOurs } from '../lib/index.mjs';
import { STEPS, startKernel, runStep, dynamicVatID } from '../demo/kernel-scenario.mjs';
import {
  EXPECTED_RESULTS,
  makeTempDir,
  removeTempDirs,
  observe,
  kvDiff,
  deriveRefCount,
  kvView,
} from './kernel-helpers.mjs';
import { makeProgress } from './support/progress.mjs';

const MANAGER_TYPES = ['local', 'xs-worker'];
const progress = makeProgress();

// The kernel's own bundles (kernel, vat-admin, comms, vattp, timer, devices) are built once per
// file and handed to every initializeSwingset.
let kernelBundlesP;
const getKernelBundles = () => (kernelBundlesP ??= buildKernelBundles());

/** Runs the whole scenario on a fresh on-disk store; returns one observation per stage. */
async function runScenario(initSwingStore, label, managerType) {
  const dir = makeTempDir(`e2e-${label}-${managerType}`);
  const swingStore = initSwingStore(dir);
  let controller;
  try {
    const kernelBundles = await getKernelBundles();
    controller = await startKernel(swingStore, managerType, { kernelBundles });
    const observations = [observe(swingStore, 'init', undefined)];
    progress.tick();
    for (const step of STEPS) {
      const result = await runStep(controller, swingStore, step);
      observations.push(observe(swingStore, step, result));
      progress.tick();
    }
    return observations;
  } finally {
    if (controller) await controller.shutdown();
    await swingStore.hostStorage.close();
  }
}

// One pair of runs (ours, then swing-store) per manager type, started by the first test that
// needs it; the tests are serial, so at most one kernel runs at a time. A test waits for them
// as long as they make progress (a kernel step at a time), however long that takes.
const pairs = new Map();
const getRuns = (t, managerType) => {
  if (!pairs.has(managerType)) {
    pairs.set(
      managerType,
      (async () => {
        const ours = await runScenario(initOurs, 'ours', managerType);
        const theirs = await runScenario(initTheirs, 'theirs', managerType);
        return { ours, theirs };
      })(),
    );
  }
  progress.watch(t);
  return pairs.get(managerType);
};

test.after.always(removeTempDirs);

/** The dynamic vat's ID, as the kernel recorded it at the 'create' step. */
const dynamicVatOf = observations => dynamicVatID(kvView(observations[1].kvEntries));

/** The marker's kref: the one slot of the vatParameters the 'create' step retained. */
const markerOf = observations => {
  const vatID = dynamicVatOf(observations);
  return JSON.parse(observations[1].kvEntries[`${vatID}.vatParameters`]).slots[0];
};

/** `vNN.vatParameters` exactly as kser() writes it for { marker, number }. */
const vatParametersWithMarker = (number, kref) =>
  JSON.stringify({
    body: `#${JSON.stringify({ marker: '$0.Alleged: marker', number })}`,
    slots: [kref],
  });

for (const managerType of MANAGER_TYPES) {
  test.serial(`${managerType}: every step answers as the scenario expects, on ours and on swing-store`, async t => {
    const { ours, theirs } = await getRuns(t, managerType);
    const expected = STEPS.map(step => ({ step, result: EXPECTED_RESULTS[step] }));
    const answers = observations => observations.slice(1).map(({ step, result }) => ({ step, result }));
    t.deepEqual(answers(ours), expected, 'ours');
    t.deepEqual(answers(theirs), expected, 'swing-store');
  });

  test.serial(`${managerType}: the dynamic vat's vatParameters are retained exactly as the JS kernel writes them`, async t => {
    const { ours, theirs } = await getRuns(t, managerType);
    // After initialization (bootstrap ran) no dynamic vat exists yet.
    t.is(ours[0].kvEntries['vat.dynamicIDs'], '[]');
    const vatID = dynamicVatOf(ours);
    t.regex(vatID, /^v\d+$/);
    t.is(dynamicVatOf(theirs), vatID, 'swing-store gave the dynamic vat the same ID');
    const kref = markerOf(ours);
    t.regex(kref, /^ko\d+$/);
    // The marker is the bootstrap vat's export.
    t.is(ours[1].kvEntries[`${kref}.owner`], ours[1].kvEntries['vat.name.bootstrap']);
    const expected = {
      init: undefined,
      create: vatParametersWithMarker(1, kref),
      upgradeWithParameters: vatParametersWithMarker(2, kref),
      upgradeWithoutParameters: '{"body":"#\\"#undefined\\"","slots":[]}',
      // termination's cleanup deletes every vNN.* key, vatParameters included
      terminate: undefined,
    };
    for (const [i, { step, kvEntries }] of ours.entries()) {
      t.is(kvEntries[`${vatID}.vatParameters`], expected[step], `ours after ${step}`);
      t.is(theirs[i].kvEntries[`${vatID}.vatParameters`], expected[step], `swing-store after ${step}`);
    }
    // terminated: gone from the dynamic vat list
    t.false(JSON.parse(ours.at(-1).kvEntries['vat.dynamicIDs']).includes(vatID));
  });

  test.serial(`${managerType}: the marker's refCount after every step equals the count of its holders (4,4 4,4 3,3 2,2)`, async t => {
    const { ours, theirs } = await getRuns(t, managerType);
    const kref = markerOf(ours);
    // The holders, as observed: the vat-admin vat's import (never reaped: defaultReapInterval is
    // 'never'), the vat-admin device's c-list, the dynamic vat's import and its vatParameters,
    // the latter dropped by the upgrade without vatParameters and the import by termination.
    const expected = {
      create: '4,4',
      upgradeWithParameters: '4,4',
      upgradeWithoutParameters: '3,3',
      terminate: '2,2',
    };
    t.is(ours[0].kvEntries[`${kref}.refCount`], undefined, 'not exported yet after initialization');
    for (const [i, { step, kvEntries }] of ours.entries()) {
      if (step === 'init') continue;
      const stored = kvEntries[`${kref}.refCount`];
      const { refCount, holders } = deriveRefCount(kvEntries, kref);
      t.is(stored, refCount, `ours after ${step}: stored refCount vs holders ${holders.join(' ')}`);
      t.is(stored, expected[step], `ours after ${step}`);
      t.is(theirs[i].kvEntries[`${kref}.refCount`], expected[step], `swing-store after ${step}`);
    }
  });

  test.serial(`${managerType}: ours' whole kvStore equals swing-store's after initialization and every step`, async t => {
    const { ours, theirs } = await getRuns(t, managerType);
    t.is(ours.length, STEPS.length + 1);
    t.is(theirs.length, STEPS.length + 1);
    for (const [i, { step, kvEntries }] of ours.entries()) {
      t.is(theirs[i].step, step);
      t.deepEqual(kvDiff(kvEntries, theirs[i].kvEntries), [], `kvStore after ${step}`);
    }
  });

  test.serial(`${managerType}: ours' activityhash equals swing-store's after initialization and every step`, async t => {
    const { ours, theirs } = await getRuns(t, managerType);
    for (const [i, { step, activityhash }] of ours.entries()) {
      t.regex(activityhash, /^[0-9a-f]{64}$/, `ours after ${step}`);
      t.is(activityhash, theirs[i].activityhash, `activityhash after ${step}`);
    }
    // every stage changed the hash (each one committed kernel work)
    t.is(new Set(ours.map(o => o.activityhash)).size, ours.length);
  });
}
