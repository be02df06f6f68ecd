// A kernel restart across stores, with the real SwingSet kernel and 'xs-worker' workers (local
// workers don't replay deterministically after GC): store A runs initialization and the first two
// steps of demo/kernel-scenario.mjs, the controller is shut down and A closed; store B then opens
// the SAME directory (openSwingStore), a new controller starts on it (transcript replay and
// snapshot load happen here) and runs the remaining steps. (A, B) is (ours, ours),
// (ours, swing-store) and (swing-store, ours); each is compared with a reference run that does the
// identical restart entirely on @agoric/swing-store 0.10.0.
import '@endo/init/debug.js';
import test from 'ava';
import { buildKernelBundles } from '@agoric/swingset-vat';
import * as swingStore from '@agoric/swing-store';
import * as ourStore from '../lib/index.mjs';
import { STEPS, startKernel, runStep } from '../demo/kernel-scenario.mjs';
import { EXPECTED_RESULTS, makeTempDir, removeTempDirs, observe, kvDiff } from './kernel-helpers.mjs';
import { makeProgress } from './support/progress.mjs';

const MANAGER_TYPE = 'xs-worker';
const STEPS_BEFORE_RESTART = STEPS.slice(0, 2);
const STEPS_AFTER_RESTART = STEPS.slice(2);
const progress = makeProgress();

const STORES = { ours: ourStore, 'swing-store': swingStore };

let kernelBundlesP;
const getKernelBundles = () => (kernelBundlesP ??= buildKernelBundles());

/**
 * Initializes the kernel on store A in a fresh temp dir and runs the steps before the restart,
 * then reopens the dir with store B, restarts the kernel and runs the rest. Returns the
 * observations: 'handover' (A's state when closed), 'restart' (B's state once the new controller
 * has started and run), then one per step after the restart.
 */
async function runWithRestart(nameA, nameB) {
  const dir = makeTempDir(`restart-${nameA}-${nameB}`);
  const observations = [];
  const results = [];

  const storeA = STORES[nameA].initSwingStore(dir);
  let controller;
  try {
    const kernelBundles = await getKernelBundles();
    controller = await startKernel(storeA, MANAGER_TYPE, { kernelBundles });
    for (const step of STEPS_BEFORE_RESTART) {
      results.push({ step, result: await runStep(controller, storeA, step) });
      progress.tick();
    }
    observations.push(observe(storeA, 'handover', undefined));
  } finally {
    if (controller) await controller.shutdown();
    await storeA.hostStorage.close();
  }

  controller = undefined;
  const storeB = STORES[nameB].openSwingStore(dir);
  try {
    controller = await startKernel(storeB, MANAGER_TYPE, { initialize: false });
    observations.push(observe(storeB, 'restart', undefined));
    progress.tick();
    for (const step of STEPS_AFTER_RESTART) {
      const result = await runStep(controller, storeB, step);
      results.push({ step, result });
      observations.push(observe(storeB, step, result));
      progress.tick();
    }
  } finally {
    if (controller) await controller.shutdown();
    await storeB.hostStorage.close();
  }
  return { results, observations };
}

// Runs are started lazily by the first test needing them (tests are serial: one kernel at a
// time). The reference run is shared by the three pairs.
const runs = new Map();
const getRun = (nameA, nameB) => {
  const key = `${nameA}->${nameB}`;
  if (!runs.has(key)) runs.set(key, runWithRestart(nameA, nameB));
  return runs.get(key);
};
const getReference = () => getRun('swing-store', 'swing-store');
/**
 * The reference run, then the (A, B) run, for test `t`: one kernel at a time, waited for as
 * long as they make progress (a kernel step at a time), however long that takes.
 */
const getRuns = async (t, nameA, nameB) => {
  progress.watch(t);
  const reference = await getReference();
  return { reference, run: await getRun(nameA, nameB) };
};

test.after.always(removeTempDirs);

const PAIRS = [
  ['ours', 'ours'],
  ['ours', 'swing-store'],
  ['swing-store', 'ours'],
];

for (const [nameA, nameB] of PAIRS) {
  const title = `${nameA} then ${nameB}`;

  test.serial(`${title}: every step answers as in the swing-store reference run, across the restart`, async t => {
    const { reference, run } = await getRuns(t, nameA, nameB);
    const expected = STEPS.map(step => ({ step, result: EXPECTED_RESULTS[step] }));
    t.deepEqual(reference.results, expected, 'reference run (swing-store only)');
    t.deepEqual(run.results, reference.results);
  });

  test.serial(`${title}: the kvStore equals the reference run's at the handover, after the restart and at the end`, async t => {
    const { reference, run } = await getRuns(t, nameA, nameB);
    t.deepEqual(
      run.observations.map(o => o.step),
      reference.observations.map(o => o.step),
    );
    for (const [i, { step, kvEntries }] of run.observations.entries()) {
      t.deepEqual(kvDiff(kvEntries, reference.observations[i].kvEntries), [], `kvStore at ${step}`);
    }
  });

  test.serial(`${title}: the activityhash equals the reference run's at the handover, after the restart and at the end`, async t => {
    const { reference, run } = await getRuns(t, nameA, nameB);
    for (const [i, { step, activityhash }] of run.observations.entries()) {
      t.regex(activityhash, /^[0-9a-f]{64}$/, `${step}`);
      t.is(activityhash, reference.observations[i].activityhash, `activityhash at ${step}`);
    }
  });
}
