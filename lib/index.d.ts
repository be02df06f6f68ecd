// Types of the package entry: the native store (generated in ../index.d.ts) and the
// swing-store-compatible functions built on it.
import type {
  KernelStore,
  AuditOptions,
  AuditReport,
  CrankHashes,
  SnapshotInfo,
  SnapshotResult,
  SpanBounds,
  Deletion,
} from '../index.js';

// Named, not `export *`: the generated loader's `__napiBindingTarget` is not part of this entry.
export { KernelStore, KvStore, SnapshotReader, SnapshotWriter, SpanReader } from '../index.js';
export type {
  AuditFinding,
  AuditHolder,
  AuditOptions,
  AuditReport,
  CapData,
  CrankHashes,
  Deletion,
  EligibleVat,
  IneligibleVat,
  ObjectRefCount,
  OpenOptions,
  RefCounts,
  SnapshotInfo,
  SnapshotResult,
  SpanBounds,
  UpgradePlan,
} from '../index.js';

/** swing-store's KVStore: misses are `undefined`. */
export interface KVStore {
  has(key: string): boolean;
  get(key: string): string | undefined;
  getNextKey(previousKey: string): string | undefined;
  set(key: string, value: string, bypassHash?: boolean): void;
  delete(key: string): void;
}

export interface TranscriptStore {
  initTranscript(vatID: string): void;
  rolloverSpan(vatID: string): Promise<number>;
  rolloverIncarnation(vatID: string): Promise<number>;
  getCurrentSpanBounds(vatID: string): SpanBounds;
  addItem(vatID: string, item: string): void;
  readSpan(vatID: string, startPos?: number): IterableIterator<string>;
  stopUsingTranscript(vatID: string): Promise<void>;
  deleteVatTranscripts(vatID: string, budget?: number): Deletion;
}

export interface SnapStore {
  loadSnapshot(vatID: string): AsyncGenerator<Uint8Array, void, undefined>;
  saveSnapshot(
    vatID: string,
    snapPos: number,
    snapshotStream: AsyncIterable<Uint8Array>,
  ): Promise<SnapshotResult & { archiveWriteSeconds?: number }>;
  deleteAllUnusedSnapshots(): void;
  deleteVatSnapshots(vatID: string, budget?: number): Deletion;
  stopUsingLastSnapshot(vatID: string): void;
  /**
   * Typed as swing-store declares it, so that this SnapStore is assignable to swing-store's
   * where SwingSet takes one. At runtime it behaves as swing-store's does: `undefined` for a
   * vat with no in-use snapshot, and sizes absent for an imported one; SwingSet checks for
   * both. The native `KernelStore.getSnapshotInfo` has the exact type.
   */
  getSnapshotInfo(vatID: string): SwingStoreSnapshotInfo;
}

/** swing-store's declared SnapshotInfo (see `SnapStore.getSnapshotInfo`). */
export interface SwingStoreSnapshotInfo {
  snapPos: number;
  hash: string;
  uncompressedSize: number;
  compressedSize: number;
}

/** swing-store's bundle shapes. */
export interface EndoZipBase64Bundle {
  moduleFormat: 'endoZipBase64';
  endoZipBase64: string;
  endoZipBase64Sha512: string;
}
export interface NestedEvaluateBundle {
  moduleFormat: 'nestedEvaluate';
  source: string;
  sourceMap?: string;
}
export interface GetExportBundle {
  moduleFormat: 'getExport';
  source: string;
  sourceMap?: string;
}
export type Bundle = EndoZipBase64Bundle | NestedEvaluateBundle | GetExportBundle;

export interface BundleStore {
  /** As in swing-store, only `b0-` nestedEvaluate and `b1-` endoZipBase64 bundles are stored; others throw. */
  addBundle(bundleID: string, bundle: Bundle): void;
  hasBundle(bundleID: string): boolean;
  getBundle(bundleID: string): EndoZipBase64Bundle | NestedEvaluateBundle;
  deleteBundle(bundleID: string): void;
}

export interface SwingStoreKernelStorage {
  kvStore: KVStore;
  transcriptStore: TranscriptStore;
  snapStore: SnapStore;
  bundleStore: BundleStore;
  startCrank(): void;
  establishCrankSavepoint(savepoint: string): void;
  rollbackCrank(savepoint: string): void;
  emitCrankHashes(): CrankHashes;
  endCrank(): void;
  getActivityhash(): string;
}

export interface SwingStoreHostStorage {
  repairMetadata(exporter: unknown): Promise<void>;
  kvStore: KVStore;
  commit(): Promise<void>;
  close(): Promise<void>;
  diskUsage(): number;
}

export interface SwingStoreOptions {
  readonly?: boolean;
  unsafeFastMode?: boolean;
  keepSnapshots?: boolean;
  keepTranscripts?: boolean;
  exportCallback?: (rows: Array<[string, string | null]>) => void;
  wrapKvStore?: (kvStore: KVStore) => KVStore;
  wrapTranscriptStore?: (store: TranscriptStore) => TranscriptStore;
  wrapSnapStore?: (store: SnapStore) => SnapStore;
  wrapBundleStore?: (store: BundleStore) => BundleStore;
}

export interface SwingStore {
  kernelStorage: SwingStoreKernelStorage;
  hostStorage: SwingStoreHostStorage;
  debug: { dump(): { kvEntries: Record<string, string> }; serialize(): never; getDatabase(): null };
  internal: {
    dirPath: string | null;
    asFile: false;
    db: null;
    kvStore: KVStore;
    transcriptStore: TranscriptStore;
    snapStore: SnapStore;
    bundleStore: BundleStore;
  };
  /** The native store, over the same connection and transaction. */
  kernelStore: KernelStore;
}

/** swing-store's `initSwingStore`: erases any store at `dirPath` (in memory when `null`). */
export function initSwingStore(dirPath?: string | null, options?: SwingStoreOptions): SwingStore;
/** swing-store's `openSwingStore`: opens (or creates) the store in `dirPath`. */
export function openSwingStore(dirPath: string, options?: SwingStoreOptions): SwingStore;
/** Whether `dirPath` holds a `swingstore.sqlite`. */
export function isSwingStore(dirPath: string): boolean;
/** Audits the database at `path` read-only. */
export function auditRefcounts(
  path: string,
  options?: AuditOptions | null,
  progress?: (scanned: number, totalEstimate: number) => void,
): AuditReport;
