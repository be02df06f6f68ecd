// The main job: a real SwingSet kernel (@agoric/swingset-vat 0.33.0, unchanged) running on
// this store, on disk. A dynamic vat gets an object in its vatParameters, is upgraded with
// and without vatParameters and terminated; each step prints what the kernel retained and the
// object's refcount. Then the native lifecycle replays the same vat on a copy of the store to
// show what it does differently. The kernel's bootstrap vat is the upgrade-all scenario's
// (upgrade-all-scenario.mjs), so the demo ends by upgrading every vat of this kernel
// (upgrade-all-part.mjs).
//
//   npm run demo [-- <dir>]     (default: ./.store-demo, erased first)
import '@endo/init';
import { resolve } from 'node:path';
import { initSwingStore, KernelStore } from '../lib/index.mjs';
import { STEPS, runStep, dynamicVatID } from './kernel-scenario.mjs';
import { startUpgradeAllKernel } from './upgrade-all-scenario.mjs';
import { upgradeAllPart } from './upgrade-all-part.mjs';

const dir = resolve(process.argv[2] ?? '.store-demo');
const swingStore = initSwingStore(dir);
const { kvStore } = swingStore.kernelStorage;
const { kernelStore } = swingStore;

const show = (label, value) => console.log(`  ${label.padEnd(22)} ${value}`);
const lifecycleView = (store, vatID, marker) => ({
  vatParameters: store.kvStore.get(`${vatID}.vatParameters`) ?? '(none)',
  refCount: store.kvStore.get(`${marker}.refCount`) ?? '(deleted)',
});

console.log(`store: ${dir}/swingstore.sqlite (kernel: local workers)`);
console.log('starting the kernel (bundling its vats takes a few seconds)...');
const { controller, bootstrapKpid } = await startUpgradeAllKernel(swingStore, 'local');
console.log(`kernel started; activityhash ${kernelStore.getActivityhash()}\n`);

let vatID;
let marker;
let afterCreate;
const kernelSays = {};
for (const step of STEPS) {
  const { status, resolution } = await runStep(controller, swingStore, step);
  vatID ??= dynamicVatID(kvStore);
  const retained = kvStore.get(`${vatID}.vatParameters`);
  marker ??= retained && JSON.parse(retained).slots[0];
  if (step === 'create') afterCreate = kernelStore.dumpKv();
  kernelSays[step] = lifecycleView(kernelStore, vatID, marker);
  console.log(`step ${step}: ${status}, the vat says "${resolution}"`);
  show(`${vatID}.vatParameters`, kernelSays[step].vatParameters);
  show(`${marker}.refCount`, kernelSays[step].refCount);
  show('activityhash', kernelStore.getActivityhash());
  if (step === 'upgradeWithoutParameters') {
    const plan = kernelStore.planUpgradeAll();
    console.log('  planUpgradeAll():');
    for (const v of plan.eligible) show(`    eligible ${v.vatID}`, `${v.name} ${JSON.stringify(v.vatParameters)}`);
    for (const v of plan.ineligible) show(`    ineligible ${v.vatID}`, `${v.name}: ${v.reason}`);
  }
}
// The same vat through the native lifecycle, on an in-memory copy of the store as it was
// right after the kernel created the vat.
const copy = KernelStore.open(null);
for (const [key, value] of afterCreate) copy.internalKvStore.set(key, value);
copy.commit();
copy.upgradeVat(vatID, {});
const nativeUpgrade = lifecycleView(copy, vatID, marker);
copy.terminateVat(vatID);
const nativeTerminate = lifecycleView(copy, vatID, marker);
copy.close();

console.log('\nwhat the native lifecycle does differently (same vat, from right after create):');
console.log('  upgrade without vatParameters:');
show('    kernel', `${kernelSays.upgradeWithoutParameters.vatParameters}, ${marker} ${kernelSays.upgradeWithoutParameters.refCount}`);
show('    native upgradeVat', `${nativeUpgrade.vatParameters}, ${marker} ${nativeUpgrade.refCount} (reused, still counted)`);
console.log('  terminate:');
show('    kernel', `${marker} ${kernelSays.terminate.refCount} after cleanup (its copy lost the slot's count at the upgrade; the vat's import is cleaned too)`);
show('    native terminateVat', `${nativeTerminate.vatParameters}, ${marker} ${nativeTerminate.refCount} (the retained slot released; the vat's import is the kernel's to clean)`);

await upgradeAllPart({ controller, swingStore, dir, bootstrapKpid });
await controller.shutdown();
await swingStore.hostStorage.close();
