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
export { Exporter, Importer, KernelStore, KvStore, SnapshotReader, SnapshotWriter, SpanReader } from '../index.js';
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

/** swing-store's artifact modes: which artifacts an export offers and an import requires. */
export type ArtifactMode = 'operational' | 'replay' | 'archival' | 'debug';

/** Any iterable, sync or async. */
export type AnyIterable<T> = Iterable<T> | AsyncIterable<T>;

/** One export-data row; `null` (or a missing value) deletes the key. */
export type KVPair = readonly [key: string, value?: string | null];

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

/** The whole transcriptStore, as `internal.transcriptStore` and `makeTranscriptStore` give it. */
export interface TranscriptStoreInternal extends TranscriptStore {
  exportSpan(name: string): AsyncIterableIterator<Uint8Array>;
  getExportRecords(includeHistorical?: boolean): IterableIterator<readonly [key: string, value: string]>;
  getArtifactNames(artifactMode: ArtifactMode): AsyncIterableIterator<string>;
  importTranscriptSpanRecord(key: string, value: string): void;
  populateTranscriptSpan(
    name: string,
    makeChunkIterator: () => AnyIterable<Uint8Array> | Promise<AnyIterable<Uint8Array>>,
    options: { artifactMode: ArtifactMode },
  ): Promise<void>;
  assertComplete(checkMode: Exclude<ArtifactMode, 'debug'>): void;
  repairTranscriptSpanRecord(key: string, value: string): void;
  readFullVatTranscript(vatID: string): IterableIterator<{ vatID: string; position: number; item: string }>;
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

/** A snapshot's row as `listAllSnapshots` lists it. */
export interface SnapshotRow {
  vatID: string;
  snapPos: number;
  inUse: 1 | null;
  hash: string;
  uncompressedSize: number | null;
  compressedSize: number | null;
}

/** The whole snapStore, as `internal.snapStore` and `makeSnapStore` give it. */
export interface SnapStoreInternal extends SnapStore {
  exportSnapshot(name: string): AsyncIterableIterator<Uint8Array>;
  getExportRecords(includeHistorical?: boolean): IterableIterator<readonly [key: string, value: string]>;
  getArtifactNames(artifactMode: ArtifactMode): AsyncIterableIterator<string>;
  importSnapshotRecord(key: string, value: string): void;
  populateSnapshot(
    name: string,
    makeChunkIterator: () => AnyIterable<Uint8Array> | Promise<AnyIterable<Uint8Array>>,
    options: { artifactMode: ArtifactMode },
  ): Promise<void>;
  assertComplete(checkMode: Exclude<ArtifactMode, 'debug'>): void;
  repairSnapshotRecord(key: string, value: string): void;
  hasHash(vatID: string, hash: string): boolean;
  listAllSnapshots(): IterableIterator<SnapshotRow>;
  deleteSnapshotByHash(vatID: string, hash: string): void;
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

/** The whole bundleStore, as `internal.bundleStore` and `makeBundleStore` give it. */
export interface BundleStoreInternal extends BundleStore {
  exportBundle(name: string): AsyncIterableIterator<Uint8Array>;
  getExportRecords(): IterableIterator<readonly [key: string, value: string]>;
  getArtifactNames(): AsyncIterableIterator<string>;
  importBundleRecord(key: string, value: string): void;
  importBundle(name: string, dataProvider: () => Promise<Uint8Array>): Promise<void>;
  assertComplete(checkMode: Exclude<ArtifactMode, 'debug'>): void;
  repairBundleRecord(key: string, value: string): void;
  getBundleIDs(): IterableIterator<string>;
}

/**
 * swing-store's exporter: a fixed view of a store's last commit (the last before its first
 * read), read without the writer's lock, so the node keeps running beside it.
 */
export interface SwingStoreExporter {
  /** A `host.` key's value; any other key throws `getHostKV requires host keys`. */
  getHostKV(key: string): string | undefined;
  /** `kv.*` for every consensus kvStore entry, then every snapshot, span and bundle record. */
  getExportData(): AnyIterable<KVPair>;
  /** Throws at once when the store lacks an artifact the mode requires (except `debug`). */
  getArtifactNames(): AnyIterable<string>;
  getArtifact(name: string): AnyIterable<Uint8Array>;
  close(): Promise<void>;
}

/** `internal.db` / `debug.getDatabase()`: a read-only better-sqlite3 look-alike over the store's own connection. */
export interface Database {
  readonly name: string;
  readonly open: boolean;
  readonly memory: boolean;
  readonly readonly: true;
  prepare(sql: string): Statement;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  /** Refused (`ERR_READONLY_QUERY`): the store writes through its own calls. */
  exec(sql: string): never;
  /** Refused (`ERR_READONLY_QUERY`). */
  transaction(fn: unknown): never;
  /** A no-op: the store owns its connection. */
  close(): void;
}

/** A read-only statement of `Database`; `run()` is refused with `ERR_READONLY_QUERY`. */
export interface Statement {
  readonly source: string;
  readonly reader: true;
  readonly readonly: true;
  get(...params: unknown[]): any;
  all(...params: unknown[]): any[];
  iterate(...params: unknown[]): IterableIterator<any>;
  pluck(toggle?: boolean): Statement;
  raw(toggle?: boolean): Statement;
  columns(): Array<{ name: string }>;
  run(...params: unknown[]): never;
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
  /** Restores lost artifact records from another node's export data (agoric-sdk #8025); commit after. */
  repairMetadata(exporter: SwingStoreExporter): Promise<void>;
  kvStore: KVStore;
  commit(): Promise<void>;
  close(): Promise<void>;
  diskUsage(): number;
}

export interface SwingStoreOptions {
  /** `dirPath` names the database file itself rather than its directory. */
  asFile?: boolean;
  /** An in-memory store loaded from `debug.serialize()`'s image (`dirPath` must be `null`). */
  serialized?: Buffer;
  readonly?: boolean;
  unsafeFastMode?: boolean;
  /** Every kvStore set and delete appended to this file, as `set <key> <value>` / `del <key>`. */
  traceFile?: string;
  keepSnapshots?: boolean;
  keepTranscripts?: boolean;
  /** Called with each new snapshot's export key and gzip bytes, and awaited, after it is saved. */
  archiveSnapshot?: (name: string, compressedData: Uint8Array) => Promise<void>;
  /** Called with each closed span's artifact name and items (`item\n` each), and awaited. */
  archiveTranscript?: (spanName: string, entries: AnyIterable<Uint8Array>) => Promise<void>;
  exportCallback?: (rows: Array<[string, string | null]>) => void;
  wrapKvStore?: (kvStore: KVStore) => KVStore;
  wrapTranscriptStore?: (store: TranscriptStore) => TranscriptStore;
  wrapSnapStore?: (store: SnapStore) => SnapStore;
  wrapBundleStore?: (store: BundleStore) => BundleStore;
}

/** `debug.dump()`: the whole store, comparably. */
export interface SwingStoreDebugDump {
  kvEntries: Record<string, string>;
  /** Items by vat and position. */
  transcripts: Record<string, Record<number, string>>;
  /** Snapshots by vat, in position order (gzip bytes `null` when pruned). */
  snapshots: Record<
    string,
    Array<{ snapPos: number; hash: string; compressedSnapshot: Buffer | null; inUse: 0 | 1 }>
  >;
  /** Each bundle's stored bytes, base64. */
  bundles: Record<string, string>;
}

export interface SwingStoreDebugTools {
  /** Without `includeHistorical`, only in-use snapshots and current spans. */
  dump(includeHistorical?: boolean): SwingStoreDebugDump;
  /** An in-memory store's image (the `serialized` option loads it); on disk it throws. */
  serialize(): Buffer;
  getDatabase(): Database;
}

export interface SwingStoreInternal {
  dirPath: string | null;
  asFile: boolean;
  db: Database;
  kvStore: KVStore;
  transcriptStore: TranscriptStoreInternal;
  snapStore: SnapStoreInternal;
  bundleStore: BundleStoreInternal;
}

export interface SwingStore {
  kernelStorage: SwingStoreKernelStorage;
  hostStorage: SwingStoreHostStorage;
  debug: SwingStoreDebugTools;
  internal: SwingStoreInternal;
  /** The native store, over the same connection and transaction. */
  kernelStore: KernelStore;
}

/** swing-store's `initSwingStore`: erases any store at `dirPath` (in memory when `null`). */
export function initSwingStore(dirPath?: string | null, options?: SwingStoreOptions): SwingStore;
/** swing-store's `openSwingStore`: opens (or creates) the store in `dirPath`. */
export function openSwingStore(dirPath: string, options?: SwingStoreOptions): SwingStore;
/** Whether `dirPath` holds a `swingstore.sqlite`. */
export function isSwingStore(dirPath: string): boolean;
/**
 * swing-store's exporter over the store in `dirPath`: its own read-only connection, pinned
 * to the last commit as it is made, no lock (the node keeps running, here or in another
 * process). Throws `ERR_NOT_A_SWING_STORE` where there is no store (it never creates one).
 */
export function makeSwingStoreExporter(dirPath: string, options?: { artifactMode?: ArtifactMode }): SwingStoreExporter;

/**
 * swing-store's importer: a new store in `dirPath` (emptied first; in memory when `null`)
 * from any exporter, every artifact checked against the export data, complete for the mode.
 * Bad data throws a coded error naming what is wrong, leaving no store behind; on disk the
 * store becomes `swingstore.sqlite` at its first commit.
 */
export function importSwingStore(
  exporter: SwingStoreExporter,
  dirPath?: string | null,
  options?: SwingStoreOptions & { artifactMode?: ArtifactMode },
): Promise<Pick<SwingStore, 'hostStorage' | 'debug'>>;

/** The filesystem powers the archivers use, as swing-store takes them. */
export interface ArchivePowers {
  fs: Pick<typeof import('node:fs'), 'createWriteStream' | 'mkdirSync' | 'renameSync'>;
  path: Pick<typeof import('node:path'), 'join'>;
  tmp: { fileSync(options: object): { name: string; fd: number; removeCallback(): void } };
}

/** An `archiveSnapshot` callback writing `<dirPath>/<name>.gz`, whole or not at all. */
export function makeArchiveSnapshot(
  dirPath: string,
  powers: ArchivePowers,
): (name: string, gzData: AnyIterable<Uint8Array> | Uint8Array) => Promise<void>;
/** An `archiveTranscript` callback writing `<dirPath>/<spanName>.gz`, whole or not at all. */
export function makeArchiveTranscript(
  dirPath: string,
  powers: ArchivePowers,
): (spanName: string, entries: AnyIterable<Uint8Array>) => Promise<void>;

/** swing-store's key namespaces. */
export function getKeyType(key: string): 'consensus' | 'local' | 'host';
/** `bundle.<bundleID>` → `<bundleID>`. */
export function bundleIDFromName(name: string): string;
/** How a snapStore measures its work. */
export function makeSnapStoreIO(): {
  measureSeconds<T>(fn: () => Promise<T> | T): Promise<{ result: T; duration: number }>;
};
/**
 * The stores of the store whose `internal.db` (or `debug.getDatabase()`) `db` is: this
 * package's stores run natively on their own connection, so any other handle (a
 * better-sqlite3 one) is refused with `ERR_FOREIGN_DATABASE`. The other arguments of
 * swing-store's signatures are accepted and the store's own are used.
 */
export function makeKVStore(db: Database, ensureTxn?: unknown, trace?: unknown): KVStore;
export function makeTranscriptStore(db: Database, ensureTxn?: unknown, noteExport?: unknown, options?: unknown): TranscriptStoreInternal;
export function makeSnapStore(db: Database, ensureTxn?: unknown, io?: unknown, noteExport?: unknown, options?: unknown): SnapStoreInternal;
export function makeBundleStore(db: Database, ensureTxn?: unknown, noteExport?: unknown): BundleStoreInternal;

/** Audits the database at `path` read-only. */
export function auditRefcounts(
  path: string,
  options?: AuditOptions | null,
  progress?: (scanned: number, totalEstimate: number) => void,
): AuditReport;

// Upgrading every vat through vat-admin on an unchanged kernel (lib/upgrade-all.cjs,
// docs/upgrade-all.md).
import type { CapData as UpgradeCapData, IneligibleVat as UpgradeIneligibleVat } from '../index.js';

/** The part of a SwingSet controller `upgradeAllVats` uses. */
export interface UpgradeQueueingController {
  queueToVatRoot(vatName: string, method: string, args: unknown[], resultPolicy: 'ignore'): string | undefined;
}

/** The part of a SwingSet controller `readUpgradeOutcomes` uses. */
export interface UpgradeReadingController {
  kpStatus(kpid: string): string;
  kpResolution(kpid: string, options: { incref: false }): UpgradeCapData;
}

export interface UpgradeAllOptions {
  /**
   * A new bundleID for some vats, keyed by vatID or vat name (a name shared by several vats
   * maps them all). Unmapped vats keep their current bundle (`vNN.source`). Every bundle must
   * be installed: the kernel panics when it upgrades a vat to a bundle it does not hold.
   */
  bundleIDs?: Record<string, string>;
  /** Required with `bundleIDs`, to check that each is installed: `kernelStorage.bundleStore`. */
  bundleStore?: Pick<BundleStore, 'hasBundle'>;
  /**
   * Vats to leave alone, by vatID or name; each must name a vat the kernel lists. Default
   * `['comms']` (its exports are all non-durable, and an upgrade abandons those). `vatAdmin`
   * is excluded always: its restart drops the results of every upgrade in flight.
   */
  exclude?: string[];
  /** The message of the disconnection objects the upgraded vats' promises are rejected with. */
  upgradeMessage?: string;
}

/** A vat `upgradeAllVats` would queue, with what it would hand back. */
export interface PlannedUpgrade {
  vatID: string;
  /** The static vat's name, or a dynamic vat's `options.name` (else its vatID). */
  name: string;
  /** The mapped bundle, or the vat's current one. */
  bundleID: string;
  /** `vNN.source` as the kernel stored it (absent or without a bundleID only when mapped). */
  source: unknown;
  /** The retained `vNN.vatParameters`: kernel-space capdata, slots are krefs. */
  vatParameters: UpgradeCapData;
}

/** Every live vat and every terminated vat still listed, in exactly one list, in vatID order. */
export interface VatUpgradePlan {
  eligible: PlannedUpgrade[];
  ineligible: UpgradeIneligibleVat[];
}

export interface QueuedUpgrade {
  vatID: string;
  name: string;
  bundleID: string;
  /** The upgrade's result promise: `{ incarnationNumber }` once upgraded, or its error. */
  kpid: string;
}

export interface UpgradeAllResult {
  queued: QueuedUpgrade[];
  ineligible: UpgradeIneligibleVat[];
}

export type UpgradeOutcome = QueuedUpgrade &
  (
    | { status: 'upgraded'; incarnationNumber: number }
    /** `strandedCounts`: krefs the kernel left one count too high (its unwound hold for the upgrade). */
    | { status: 'failed'; error: string; strandedCounts: string[] }
    /** The vat was terminated before its upgrade ran: the kernel never settles it. */
    | { status: 'lost'; strandedCounts?: string[] }
    | { status: 'unresolved' | 'unknown' }
  );

/**
 * What `upgradeAllVats` would queue and report ineligible, queueing nothing: live vats with
 * retained vatParameters and a bundle, not excluded, are eligible. Bad options throw coded
 * errors (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`, `ERR_UNKNOWN_VAT`,
 * `ERR_BUNDLE_NOT_FOUND`); unreadable vat lists `ERR_CORRUPT_VALUE`.
 */
export function planVatUpgrades(kvStore: Pick<KVStore, 'get'>, options?: UpgradeAllOptions): VatUpgradePlan;

/**
 * Queues, through the vat-admin vat, an upgrade of every eligible vat with its retained
 * vatParameters (the same kernel objects) and its current bundle unless mapped; reports the
 * others. `kvStore` is the kernel's (`kernelStorage.kvStore`, of this store or of
 * `@agoric/swing-store`). Nothing runs until the host runs the kernel. Everything is checked
 * first: a throw (as `planVatUpgrades`, or `ERR_MISSING_DEPENDENCY` without
 * `@agoric/kmarshal`) queues nothing.
 */
export function upgradeAllVats(
  controller: UpgradeQueueingController,
  kvStore: Pick<KVStore, 'get'>,
  options?: UpgradeAllOptions,
): UpgradeAllResult;

/**
 * The outcome of each queued upgrade after the kernel ran. Reads each settled kpid once
 * (releasing the host's interest in it), so call it once per run and commit afterwards.
 */
export function readUpgradeOutcomes(
  controller: UpgradeReadingController,
  kvStore: Pick<KVStore, 'get'>,
  queued: QueuedUpgrade[],
): UpgradeOutcome[];
