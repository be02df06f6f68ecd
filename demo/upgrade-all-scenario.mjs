// The upgrade-all scenario, shared by the demo and __test__/upgrade-all.spec.mjs: the kernel
// scenario's kernel with another bootstrap vat (vats/upgrade-all-bootstrap.js), which can run
// the same lifecycle steps and builds eight holder vats (vats/holder.js) whose vatParameters
// hold objects, some shared between holders and some exported by other holders. The host then
// makes one holder look created before the kernel retained vatParameters, terminates another,
// and upgrades every vat with lib's upgradeAllVats. Cleanup of terminated vats is deferred
// (as a chain's run policy may defer it), so the terminated holder stays listed.
// Callers import '@endo/init' (or its debug variant) first.
import { fileURLToPath } from 'node:url';
import { kslot, kunser } from '@agoric/kmarshal';
import { scenarioConfig, startConfiguredKernel } from './kernel-scenario.mjs';

/** The vat sources, by the name each has in the config; all are in ./vats/. */
export const UPGRADE_ALL_SOURCES = Object.fromEntries(
  ['upgrade-all-bootstrap', 'dynamic', 'holder', 'holder-v2', 'broken'].map(name => [
    name,
    fileURLToPath(new URL(`./vats/${name}.js`, import.meta.url)),
  ]),
);

/**
 * The kernel config. `bundles` (config name -> bundle) saves bundling a source again; the
 * named bundles `holder-v2` and `broken` are the new bundles the host maps holders E and F to.
 */
export const upgradeAllConfig = (managerType, bundles = {}) => {
  const spec = name => (bundles[name] ? { bundle: bundles[name] } : { sourceSpec: UPGRADE_ALL_SOURCES[name] });
  return {
    ...scenarioConfig(managerType),
    vats: { bootstrap: spec('upgrade-all-bootstrap') },
    bundles: Object.fromEntries(['dynamic', 'holder', 'holder-v2', 'broken'].map(name => [name, spec(name)])),
  };
};

/** The holders' labels, in creation order (vats/upgrade-all-bootstrap.js). */
export const HOLDERS = ['A', 'B', 'C', 'D', 'E', 'F', 'L', 'T'];

/** Starts the scenario's kernel; returns `{ controller, bootstrapKpid }`. */
export const startUpgradeAllKernel = (swingStore, managerType, { kernelBundles, bundles } = {}) =>
  startConfiguredKernel(upgradeAllConfig(managerType, bundles), swingStore, { kernelBundles });

/** Runs every crank there is except the cleanup of terminated vats. */
const deferCleanup = harden({
  allowCleanup: () => false,
  vatCreated: () => true,
  crankComplete: () => true,
  crankFailed: () => true,
  emptyCrank: () => true,
});

/** Runs the kernel to quiescence (cleanup deferred) and commits the block. */
export async function settle(controller, swingStore) {
  await controller.run(deferCleanup);
  await swingStore.hostStorage.commit();
}

/**
 * Reads what `kpid` settled to, releasing the host's interest in it (and holding nothing it
 * refers to); `undefined` while unresolved.
 */
const settledValue = (controller, kpid) => {
  const status = controller.kpStatus(kpid);
  if (status !== 'fulfilled' && status !== 'rejected') return { status };
  const capdata = controller.kpResolution(kpid, { incref: false });
  return { status, capdata, value: kunser(capdata) };
};

/**
 * Sends each `[target, method, args]` (target: 'bootstrap' or a kref), runs the kernel and
 * commits; returns what each message settled to, with the kernel-space capdata.
 */
export async function send(controller, swingStore, messages) {
  const kpids = messages.map(([target, method, args = []]) =>
    target === 'bootstrap'
      ? controller.queueToVatRoot('bootstrap', method, args, 'ignore')
      : controller.queueToVatObject(kslot(target), method, args, 'ignore'),
  );
  await settle(controller, swingStore);
  const results = kpids.map(kpid => settledValue(controller, kpid));
  await swingStore.hostStorage.commit();
  return results;
}

/** label -> vatID of every holder the kernel lists (live or terminated), from their names. */
export const holderVatIDs = kvStore => {
  const listed = [...JSON.parse(kvStore.get('vat.dynamicIDs')), ...JSON.parse(kvStore.get('vats.terminated'))];
  const byName = new Map(listed.map(vatID => [JSON.parse(kvStore.get(`${vatID}.options`)).name, vatID]));
  return Object.fromEntries(HOLDERS.filter(label => byName.has(`holder-${label}`)).map(label => [label, byName.get(`holder-${label}`)]));
};

/** A vat's root object kref (its export o+0). */
export const rootKref = (kvStore, vatID) => kvStore.get(`${vatID}.c.o+0`);

/** A vat's current incarnation number, from its transcript; `undefined` once it has none. */
export const incarnationOf = (kernelStorage, vatID) => {
  try {
    return kernelStorage.transcriptStore.getCurrentSpanBounds(vatID).incarnation;
  } catch {
    return undefined;
  }
};

/**
 * Makes `vatID` look like a vat created before the kernel retained vatParameters
 * (agoric-sdk #8947): deletes `vNN.vatParameters` and takes the retained copy's count off each
 * of its slots, as if it had never been counted, through the kernel's own kvStore between
 * blocks (then hashed like any kernel write). A slot whose count would reach zero is refused:
 * the kernel would have to learn that the object may be free, and it keeps that set in memory.
 */
export function simulateCreatedBeforeRetention(kernelStorage, vatID) {
  const { kvStore } = kernelStorage;
  const key = `${vatID}.vatParameters`;
  const { slots } = JSON.parse(kvStore.get(key));
  const counts = slots.map(kref => [kref, kvStore.get(`${kref}.refCount`).split(',').map(Number)]);
  for (const [kref, [reachable, recognizable]] of counts) {
    if (reachable < 2 || recognizable < 2) throw Error(`${kref} is held by ${key} alone; cannot simulate its absence`);
  }
  for (const [kref, [reachable, recognizable]] of counts) kvStore.set(`${kref}.refCount`, `${reachable - 1},${recognizable - 1}`);
  kvStore.delete(key);
  kernelStorage.emitCrankHashes();
}
