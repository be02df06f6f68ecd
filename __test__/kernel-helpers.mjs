// Helpers shared by the real-kernel specs (kernel-e2e.spec.mjs, kernel-restart.spec.mjs): temp
// dirs, snapshots of a store's state, a readable kvStore diff, and a refcount recomputed from the
// kvStore's holders. Not a spec itself (ava only runs __test__/**/*.spec.mjs).
// Importers must import '@endo/init/debug.js' first.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The answers the bootstrap vat gives to each step of demo/kernel-scenario.mjs. */
export const EXPECTED_RESULTS = {
  create: { status: 'fulfilled', resolution: 'vatParameters: number=1, marker=present' },
  upgradeWithParameters: { status: 'fulfilled', resolution: 'vatParameters: number=2, marker=present' },
  upgradeWithoutParameters: { status: 'fulfilled', resolution: 'vatParameters: undefined' },
  terminate: { status: 'fulfilled', resolution: 'terminated' },
};

const tempDirs = [];

/** A fresh empty directory under os.tmpdir(), removed by `removeTempDirs()`. */
export const makeTempDir = label => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sks-${label}-`));
  tempDirs.push(dir);
  return dir;
};

export const removeTempDirs = () => {
  for (const dir of tempDirs.splice(0)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

/** What a spec compares after a step: the step's answer, the whole kvStore, the activityhash. */
export const observe = (swingStore, step, result) => ({
  step,
  result,
  kvEntries: { ...swingStore.debug.dump().kvEntries },
  activityhash: swingStore.kernelStorage.getActivityhash(),
});

/** The keys whose values differ between two kvEntries objects (missing shown as <absent>). */
export const kvDiff = (ours, theirs, max = 20) => {
  const keys = [...new Set([...Object.keys(ours), ...Object.keys(theirs)])].sort();
  const show = v => (v === undefined ? '<absent>' : v.length > 160 ? `${v.slice(0, 160)}…(${v.length} chars)` : v);
  const diffs = keys.filter(k => ours[k] !== theirs[k]).map(k => ({ key: k, ours: show(ours[k]), theirs: show(theirs[k]) }));
  return diffs.length > max ? [...diffs.slice(0, max), { more: diffs.length - max }] : diffs;
};

/**
 * Recomputes `kref.refCount` ("reachable,recognizable") from the holders present in a quiescent
 * kvStore (docs/refcounts.md §3): every non-owner c-list import (a vat's counts
 * as reachable only with its `R` flag; a device's c-list has no flag and counts for both), every
 * slot of a `vNN.vatParameters`, every slot of a resolved promise's `kpNN.data.slots`, and every
 * slot of a message queued on a promise (`kpNN.queue.N`). Returns the holders too, for messages.
 */
export const deriveRefCount = (kvEntries, kref) => {
  const owner = kvEntries[`${kref}.owner`];
  let reachable = 0;
  let recognizable = 0;
  const holders = [];
  const hold = (holder, isReachable) => {
    holders.push(holder);
    recognizable += 1;
    if (isReachable) reachable += 1;
  };
  for (const [key, value] of Object.entries(kvEntries)) {
    let m;
    if ((m = /^([vd]\d+)\.c\.(ko\d+)$/.exec(key)) && m[2] === kref && m[1] !== owner) {
      hold(key, m[1].startsWith('d') || value.startsWith('R '));
    } else if (/^v\d+\.vatParameters$/.test(key)) {
      for (const slot of JSON.parse(value).slots) if (slot === kref) hold(key, true);
    } else if (/^kp\d+\.data\.slots$/.test(key)) {
      for (const slot of value ? value.split(',') : []) if (slot === kref) hold(key, true);
    } else if (/^kp\d+\.queue\.\d+$/.test(key)) {
      for (const slot of JSON.parse(value).methargs.slots) if (slot === kref) hold(key, true);
    }
  }
  return { refCount: `${reachable},${recognizable}`, holders };
};

/** A read-only kvStore-like view of a kvEntries object (what dynamicVatID() wants). */
export const kvView = kvEntries => ({ get: key => kvEntries[key] });
