// What the swing-store-compatible entry returns, handed over where @agoric/swing-store 0.10.0's
// own types are expected: its JSDoc typedefs in src/*.js, which tsc reads through
// `maxNodeModuleJsDepth`. SwingSet's `initializeSwingset(config, argv, kernelStorage)` and
// `makeSwingsetController(kernelStorage)` document exactly `SwingStoreKernelStorage`, but
// swingset-vat 0.33.0 ships no declarations and its JSDoc name comes from an ambient file, so a
// TypeScript host sees those parameters as `any`; the comparison is made with swing-store's type.
// `kernelStorage`, `hostStorage` and the state-sync exporter are compared; `debug` and
// `internal` are not SwingSet's or a chain node's, and differ (`internal.db` is a read-only
// look-alike, not a better-sqlite3 handle).
import type {
  ArtifactMode,
  KVStore,
  SwingStoreExporter,
  SwingStoreHostStorage,
  SwingStoreKernelStorage,
} from '@agoric/swing-store';
import type { openSwingStore as openTheirs } from '@agoric/swing-store';
import { importSwingStore, initSwingStore, makeSwingStoreExporter, openSwingStore } from 'swingset-kernel-store';

/** A chain node's state-sync export, handed where swing-store's exporter is expected. */
export function exportForStateSync(dirPath: string, artifactMode: ArtifactMode): SwingStoreExporter {
  return makeSwingStoreExporter(dirPath, { artifactMode });
}

/** A chain node importing an exporter of swing-store's (or its own plain object of files). */
export async function importFromTheirs(exporter: SwingStoreExporter, dirPath: string): Promise<SwingStoreHostStorage> {
  const { hostStorage } = await importSwingStore(exporter, dirPath, { artifactMode: 'replay' });
  return hostStorage;
}

/** A host booting SwingSet on a store it opens. */
export function openForSwingSet(dirPath: string): {
  kernelStorage: SwingStoreKernelStorage;
  hostStorage: SwingStoreHostStorage;
} {
  const { kernelStorage, hostStorage } = openSwingStore(dirPath);
  return { kernelStorage, hostStorage };
}

/** A test harness booting SwingSet on a fresh in-memory store. */
export function initForSwingSet(): { kernelStorage: SwingStoreKernelStorage; hostStorage: SwingStoreHostStorage } {
  const { kernelStorage, hostStorage } = initSwingStore();
  return { kernelStorage, hostStorage };
}

export function theirKvStoreTypeIsReal(kvStore: KVStore): KVStore {
  // @ts-expect-error swing-store's types are loaded, not `any`: a store whose misses are null is refused
  return { ...kvStore, get: (key: string) => kvStore.get(key) ?? null };
}

/** A swing-store host's options, those this store implements, carried over unchanged. */
export function reopenWithTheirOptions(
  dirPath: string,
  options: Pick<NonNullable<Parameters<typeof openTheirs>[1]>, 'readonly' | 'unsafeFastMode' | 'keepSnapshots' | 'keepTranscripts' | 'exportCallback'>,
) {
  return openSwingStore(dirPath, options);
}
