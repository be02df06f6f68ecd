// The kernel scenario shared by the demo, the end-to-end tests and bench/kernel: a real
// SwingSet kernel (@agoric/swingset-vat, unchanged) whose bootstrap vat creates a dynamic vat
// with an object in its vatParameters, upgrades it with and without vatParameters, and
// terminates it. The storage is whatever swing-store-shaped object the caller passes.
// Callers import '@endo/init' (or its debug variant) first.
import { fileURLToPath } from 'node:url';
import { initializeSwingset, makeSwingsetController } from '@agoric/swingset-vat';
import { kunser } from '@agoric/kmarshal';

const vatSource = name => fileURLToPath(new URL(`./vats/${name}.js`, import.meta.url));

/** The scenario's steps: methods of the bootstrap vat's root object, in order. */
export const STEPS = ['create', 'upgradeWithParameters', 'upgradeWithoutParameters', 'terminate'];

// pinBootstrapRoot: the host sends every step to the bootstrap vat's root object, but nothing
// in the kernel holds that object between steps. Unpinned, its refcount falls to 0,0 after each
// message and the kernel delivers dropExports+retireExports of o+0 to the vat, after which
// liveslots keeps the root only through a WeakRef (its own closures, a module-level variable
// included, hold it only in a cycle nothing outside reaches). A garbage collection before the
// next step's message then leaves liveslots without it: "I don't remember allocating o+0" and
// the vat is terminated (seen with local workers, where the vats share the host's heap). Pinned,
// the kernel holds it for good and the vat never drops it.
export const scenarioConfig = managerType => ({
  bootstrap: 'bootstrap',
  pinBootstrapRoot: true,
  defaultManagerType: managerType,
  defaultReapInterval: 'never',
  vats: { bootstrap: { sourceSpec: vatSource('bootstrap') } },
  bundles: { dynamic: { sourceSpec: vatSource('dynamic') } },
});

/**
 * Initializes the kernel in `swingStore` with `config` (unless it already is) and starts a
 * controller. Returns it and, when it initialized, the bootstrap result's kpid (which the host
 * holds for good). `kernelBundles` may be passed to skip rebuilding the kernel's own bundles.
 */
export async function startConfiguredKernel(config, swingStore, { initialize = true, kernelBundles } = {}) {
  const { kernelStorage, hostStorage } = swingStore;
  let bootstrapKpid;
  if (initialize) {
    bootstrapKpid = await initializeSwingset(config, [], kernelStorage, { kernelBundles });
    await hostStorage.commit();
  }
  const controller = await makeSwingsetController(kernelStorage, {}, {});
  await controller.run();
  await hostStorage.commit();
  return { controller, bootstrapKpid };
}

/** Starts the kernel scenario's kernel (see startConfiguredKernel); returns the controller. */
export async function startKernel(swingStore, managerType, options) {
  const { controller } = await startConfiguredKernel(scenarioConfig(managerType), swingStore, options);
  return controller;
}

/** Runs one step to quiescence and commits; returns what the bootstrap vat answered. */
export async function runStep(controller, swingStore, method) {
  const kpid = controller.queueToVatRoot('bootstrap', method, [], 'ignore');
  await controller.run();
  await swingStore.hostStorage.commit();
  const status = controller.kpStatus(kpid);
  const resolution = status === 'unresolved' ? undefined : kunser(controller.kpResolution(kpid));
  return { status, resolution };
}

/** The dynamic vat's ID (the last one the kernel created) from the kvStore. */
export const dynamicVatID = kvStore => JSON.parse(kvStore.get('vat.dynamicIDs') || '[]').at(-1);
