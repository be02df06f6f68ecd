// A host written against both public entries, type-checked by ../types.spec.mjs and never run.
// Every public call appears with the argument and result types a host relies on; each
// `@ts-expect-error` is a mistake the types must refuse.
// CommonJS, like the package: `swingset-kernel-store/native` has only a `require` condition.
import {
  auditRefcounts,
  bundleIDFromName,
  getKeyType,
  importSwingStore,
  initSwingStore,
  isSwingStore,
  makeArchiveSnapshot,
  makeArchiveTranscript,
  makeBundleStore,
  makeKVStore,
  makeSnapStore,
  makeSnapStoreIO,
  makeSwingStoreExporter,
  makeTranscriptStore,
  openSwingStore,
  planVatUpgrades,
  readUpgradeOutcomes,
  upgradeAllVats,
  KernelStore,
  type UpgradeOutcome,
  type UpgradeQueueingController,
  type UpgradeReadingController,
  type ArtifactMode,
  type AuditReport,
  type Database,
  type KVPair,
  type SwingStoreDebugDump,
  type SwingStoreExporter,
  type Bundle,
  type CrankHashes,
  type KVStore,
  type SnapStore,
  type SwingStore,
  type SwingStoreHostStorage,
  type SwingStoreKernelStorage,
  type SwingStoreOptions,
  type TranscriptStore,
} from 'swingset-kernel-store';
import {
  __napiBindingTarget,
  auditRefcounts as auditStoreAt,
  KernelStore as NativeKernelStore,
  SnapshotWriter,
  type CapData,
  type Deletion,
  type KvStore,
  type ObjectRefCount,
  type SnapshotInfo,
  type SnapshotReader,
  type SnapshotResult,
  type SpanBounds,
  type SpanReader,
  type UpgradePlan,
} from 'swingset-kernel-store/native';

// The swing-store-compatible entry, as a swing-store host and its kernel use it.

/** A write-tracing wrapper, in the shape swing-store's `wrapKvStore` option takes. */
const traceWrites = (kvStore: KVStore): KVStore => ({
  ...kvStore,
  set: (key, value) => {
    console.log('set', key, value.length);
    kvStore.set(key, value);
  },
});

export function openNodeStore(dirPath: string, onExport: (rows: Array<[string, string | null]>) => void): SwingStore {
  const options: SwingStoreOptions = {
    keepTranscripts: false,
    keepSnapshots: false,
    exportCallback: onExport,
    wrapKvStore: traceWrites,
  };
  return isSwingStore(dirPath) ? openSwingStore(dirPath, options) : initSwingStore(dirPath, options);
}

export const inspectStore = (dirPath: string): SwingStore => openSwingStore(dirPath, { readonly: true });
export const makeScratchStore = (): SwingStore => initSwingStore();
export const makeScratchKernelStore = (): KernelStore => KernelStore.open(null);

/** The keys from `start` (inclusive) to `end` (exclusive), walked as swing-store documents it. */
export function* keysBetween(kvStore: KVStore, start: string, end: string): Generator<string> {
  if (kvStore.has(start)) yield start;
  for (let key = kvStore.getNextKey(start); key !== undefined && key < end; key = kvStore.getNextKey(key)) {
    yield key;
  }
}

/** One delivery: its transcript entry and state change, rolled back to the savepoint on failure. */
export function deliver(kernelStorage: SwingStoreKernelStorage, vatID: string, delivery: string): CrankHashes {
  const { kvStore, transcriptStore } = kernelStorage;
  kernelStorage.startCrank();
  kernelStorage.establishCrankSavepoint('deliver');
  try {
    transcriptStore.addItem(vatID, JSON.stringify({ d: delivery }));
    const count: string | undefined = kvStore.get(`${vatID}.deliveries`);
    kvStore.set(`${vatID}.deliveries`, String(Number(count ?? 0) + 1), false);
    kvStore.delete(`${vatID}.pending`);
  } catch (error) {
    kernelStorage.rollbackCrank('deliver');
    throw error;
  }
  const hashes = kernelStorage.emitCrankHashes();
  kernelStorage.endCrank();
  if (hashes.activityhash !== kernelStorage.getActivityhash()) throw Error('activityhash not stored');
  return hashes;
}

export function replay(transcriptStore: TranscriptStore, vatID: string): string[] {
  const bounds: { startPos: number; endPos: number; hash: string; incarnation: number } =
    transcriptStore.getCurrentSpanBounds(vatID);
  const current = [...transcriptStore.readSpan(vatID)];
  return bounds.startPos > 0 ? [...transcriptStore.readSpan(vatID, 0), ...current] : current;
}

/** Saves a new heap snapshot and starts a new transcript span at it. */
export async function snapshotVat(
  kernelStorage: SwingStoreKernelStorage,
  vatID: string,
  heap: AsyncIterable<Uint8Array>,
): Promise<number> {
  const { snapStore, transcriptStore } = kernelStorage;
  const { endPos } = transcriptStore.getCurrentSpanBounds(vatID);
  const saved = await snapStore.saveSnapshot(vatID, endPos, heap);
  if (snapStore.getSnapshotInfo(vatID)?.hash !== saved.hash) throw Error('snapshot not in use');
  const nextSpanStart: number = await transcriptStore.rolloverSpan(vatID);
  console.log(nextSpanStart, saved.compressSeconds, saved.dbSaveSeconds, saved.archiveWriteSeconds);
  return saved.compressedSize;
}

export async function restoreHeap(snapStore: SnapStore, vatID: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of snapStore.loadSnapshot(vatID)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function startVat(kernelStorage: SwingStoreKernelStorage, vatID: string, bundleID: string, bundle: Bundle): string {
  const { bundleStore, transcriptStore } = kernelStorage;
  if (!bundleStore.hasBundle(bundleID)) bundleStore.addBundle(bundleID, bundle);
  transcriptStore.initTranscript(vatID);
  return bundleStore.getBundle(bundleID).moduleFormat;
}

export async function upgradeVat(kernelStorage: SwingStoreKernelStorage, vatID: string): Promise<number> {
  kernelStorage.snapStore.stopUsingLastSnapshot(vatID);
  return kernelStorage.transcriptStore.rolloverIncarnation(vatID);
}

/** Deletes a terminated vat's artifacts a budget at a time; true once nothing is left. */
export async function cleanupTerminatedVat(kernelStorage: SwingStoreKernelStorage, vatID: string, budget: number) {
  const { snapStore, transcriptStore, bundleStore } = kernelStorage;
  await transcriptStore.stopUsingTranscript(vatID);
  snapStore.stopUsingLastSnapshot(vatID);
  const snapshots: Deletion = snapStore.deleteVatSnapshots(vatID, budget);
  const spans: Deletion = transcriptStore.deleteVatTranscripts(vatID, budget);
  snapStore.deleteAllUnusedSnapshots();
  bundleStore.deleteBundle(`b1-${vatID}`);
  return snapshots.done && spans.done;
}

export async function endBlock(hostStorage: SwingStoreHostStorage, height: number): Promise<number> {
  hostStorage.kvStore.set('host.height', String(height));
  await hostStorage.commit();
  return hostStorage.diskUsage();
}

/** swing-store's metadata repair, from another node's export. */
export const repair = (hostStorage: SwingStoreHostStorage, exporter: SwingStoreExporter): Promise<void> =>
  hostStorage.repairMetadata(exporter);

/** swing-store's serialization of an in-memory database, and a store loaded from it. */
export const serialize = ({ debug }: SwingStore): SwingStore =>
  initSwingStore(null, { serialized: debug.serialize() });

/** State sync, as a chain node runs it: export a store, import it elsewhere, commit. */
export async function stateSync(fromDir: string, toDir: string, artifactMode: ArtifactMode): Promise<string[]> {
  const exporter: SwingStoreExporter = makeSwingStoreExporter(fromDir, { artifactMode });
  const height: string | undefined = exporter.getHostKV('host.height');
  const rows: KVPair[] = [];
  for await (const row of exporter.getExportData()) rows.push(row);
  const names: string[] = [];
  for await (const name of exporter.getArtifactNames()) {
    names.push(name);
    for await (const chunk of exporter.getArtifact(name)) console.log(name, chunk.byteLength);
  }
  const reopened = makeSwingStoreExporter(fromDir);
  const { hostStorage, debug } = await importSwingStore(reopened, toDir, { artifactMode });
  const dump: SwingStoreDebugDump = debug.dump(false);
  console.log(height, rows.length, Object.keys(dump.transcripts));
  await hostStorage.commit();
  await hostStorage.close();
  await exporter.close();
  return names;
}

/** A node's archiving, trace and tool options, and the tools' own entry points. */
export async function archivingNode(dirPath: string, archiveDir: string, powers: Parameters<typeof makeArchiveSnapshot>[1]) {
  const { kernelStorage, internal, hostStorage } = openSwingStore(dirPath, {
    traceFile: `${dirPath}/kvtrace`,
    archiveSnapshot: makeArchiveSnapshot(archiveDir, powers),
    archiveTranscript: makeArchiveTranscript(archiveDir, powers),
  });
  const db: Database = internal.db;
  const rows: number = db.prepare('SELECT COUNT(*) FROM kvStore').pluck().get();
  const snapStore = makeSnapStore(db, () => {}, makeSnapStoreIO());
  const transcripts = makeTranscriptStore(db, () => {});
  const bundles = makeBundleStore(db, () => {});
  const kv: KVStore = makeKVStore(db, () => {}, () => {});
  for await (const { position, item } of transcripts.readFullVatTranscript('v1')) console.log(position, item);
  for (const row of snapStore.listAllSnapshots()) console.log(row.vatID, row.inUse);
  console.log(rows, kv.get('version'), [...bundles.getBundleIDs()], getKeyType('host.height'), bundleIDFromName('bundle.b1-00'));
  kernelStorage.transcriptStore.initTranscript('v1');
  await hostStorage.close();
}

export async function auditAndShutdown({ hostStorage, debug, internal, kernelStore }: SwingStore): Promise<AuditReport> {
  const state: Record<string, string> = debug.dump().kvEntries;
  const database: Database = debug.getDatabase();
  console.log(Object.keys(state).length, database, internal.kvStore.get('version'));
  const live: AuditReport = kernelStore.auditRefcounts({ external: ['kp40'] });
  await hostStorage.close();
  if (internal.dirPath === null) return live;
  return auditRefcounts(internal.dirPath, null, (scanned, totalEstimate) => console.log(scanned, totalEstimate));
}

// The native entry, used directly.

export function openKernelStore(dirPath: string | null): NativeKernelStore {
  console.log(`binding: ${__napiBindingTarget}`);
  return NativeKernelStore.open(dirPath, {
    keepTranscripts: true,
    keepSnapshots: false,
    unsafeFastMode: false,
    readonly: false,
    exportCallback: rows => rows.forEach(([key, value]) => console.log(key, value ?? '<deleted>')),
  });
}

export function crank(store: NativeKernelStore, vatID: string, item: string): CrankHashes {
  const kernel: KvStore = store.kvStore;
  store.startCrank();
  store.establishCrankSavepoint('t1');
  store.addItem(vatID, item);
  kernel.set(`${vatID}.t.endPosition`, String(store.getCurrentSpanBounds(vatID).endPos));
  if (kernel.has(`${vatID}.pending`)) kernel.delete(`${vatID}.pending`);
  if (kernel.get('kernel.panic') !== undefined) store.rollbackCrank('t1');
  const hashes = store.emitCrankHashes();
  store.endCrank();
  store.hostKvStore.set('host.lastActivityhash', store.getActivityhash());
  store.internalKvStore.set('version', '3');
  store.commit();
  return hashes;
}

export const hasKeysUnder = (kv: KvStore, prefix: string): boolean => kv.getNextKey(prefix)?.startsWith(prefix) ?? false;

/** A kernel write stored through a host's own layer over the internal facet, then hashed. */
export function layeredKernelSet(store: NativeKernelStore, key: string, value: string | undefined): void {
  store.kvStore.checkWritable(key);
  if (value === undefined) store.internalKvStore.delete(key);
  else store.internalKvStore.set(key, value);
  store.kvStore.recordWrite(key, value);
}

/** The kernel's reference counting, on the native store. */
export function dropImport(store: NativeKernelStore, kref: string): string[] {
  store.incrementRefCount(kref, 'import', { isExport: false, onlyRecognizable: false });
  const promiseFreed: boolean = store.decrementRefCount(kref, 'drop', { onlyRecognizable: true });
  const counts: ObjectRefCount = store.getObjectRefCount(kref);
  if (counts.exists && counts.reachable > counts.recognizable) {
    store.setObjectRefCount(kref, { reachable: counts.recognizable, recognizable: counts.recognizable });
  }
  if (!promiseFreed && store.kernelObjectExists(kref)) store.addMaybeFreeKref(kref);
  return store.takeMaybeFreeKrefs();
}

/** A dynamic vat's lifecycle with retained vatParameters. */
export function vatLifecycle(store: NativeKernelStore, vatID: string, parameters: CapData, next: CapData): UpgradePlan {
  const created: CapData = store.createVat(vatID, { vatParameters: parameters });
  const retained: CapData | undefined = store.getVatParameters(vatID);
  if (retained?.body !== created.body) store.setVatParameters(vatID, created);
  store.upgradeVat(vatID, { vatParameters: next });
  const reused: CapData = store.upgradeVat(vatID);
  const released: CapData | undefined = store.terminateVat(vatID);
  console.log(reused.slots, released?.slots);
  return store.planUpgradeAll();
}

export function copyBundle(from: NativeKernelStore, to: NativeKernelStore, bundleID: string): void {
  if (!from.hasBundle(bundleID)) return;
  const data: string | Buffer = from.getBundleData(bundleID);
  if (typeof data === 'string') {
    to.addBundleB0(bundleID, 'nestedEvaluate', data);
  } else {
    const sha512 = bundleID.slice(3);
    to.addBundleB1(bundleID, 'endoZipBase64', data.toString('base64'), sha512);
  }
  from.deleteBundle(bundleID);
}

/** Moves a vat's current span and in-use snapshot to another store. */
export function copyVat(from: NativeKernelStore, to: NativeKernelStore, vatID: string): SnapshotResult | undefined {
  const bounds: SpanBounds = from.getCurrentSpanBounds(vatID);
  to.initTranscript(vatID);
  // Without a start position the current span is read; bounds.startPos names the same one.
  const span: SpanReader = bounds.startPos === 0 ? from.readSpanBegin(vatID) : from.readSpanBegin(vatID, bounds.startPos);
  for (let page = span.nextPage(100); page.length > 0; page = span.nextPage(100)) {
    for (const item of page) to.addItem(vatID, item);
  }
  const info: SnapshotInfo | undefined = from.getSnapshotInfo(vatID);
  if (info === undefined) return undefined;
  const reader: SnapshotReader = from.loadSnapshot(vatID);
  const writer = new SnapshotWriter();
  for (let chunk = reader.readChunk(65536); chunk !== undefined; chunk = reader.readChunk(65536)) writer.write(chunk);
  return to.saveSnapshot(vatID, info.snapPos, writer);
}

export function retireVat(store: NativeKernelStore, vatID: string, budget?: number): boolean {
  store.stopUsingTranscript(vatID);
  store.stopUsingLastSnapshot(vatID);
  const spans = store.deleteVatTranscripts(vatID, budget);
  const snapshots = store.deleteVatSnapshots(vatID, budget ?? null);
  store.deleteAllUnusedSnapshots();
  return spans.done && snapshots.done;
}

export function rollover(store: NativeKernelStore, vatID: string, upgrade: boolean): number {
  return upgrade ? store.rolloverIncarnation(vatID) : store.rolloverSpan(vatID);
}

export function auditAndClose(store: NativeKernelStore): AuditReport {
  const entries: Array<[string, string]> = store.dumpKv();
  const path = store.dbPath;
  store.close();
  if (!store.closed || path === null) throw Error(`cannot audit an in-memory store of ${entries.length} keys`);
  return auditStoreAt(path, { external: ['kp40'] }, (scanned, totalEstimate) => console.log(scanned / totalEstimate));
}

export async function upgradeEveryVat(
  controller: UpgradeQueueingController & UpgradeReadingController & { run(): Promise<number> },
  { kernelStorage }: SwingStore,
): Promise<UpgradeOutcome[]> {
  const { kvStore, bundleStore } = kernelStorage;
  const plan = planVatUpgrades(kvStore, { exclude: ['comms', 'v9'] });
  for (const { vatID, name, reason } of plan.ineligible) console.log(vatID, name, reason);
  const bundleIDs: Record<string, string> = { zoe: 'b1-0123' };
  const { queued } = upgradeAllVats(controller, kvStore, { bundleIDs, bundleStore, upgradeMessage: 'chain upgrade' });
  await controller.run();
  const outcomes = readUpgradeOutcomes(controller, kvStore, queued);
  for (const outcome of outcomes) {
    if (outcome.status === 'upgraded') console.log(outcome.vatID, outcome.incarnationNumber);
    else if (outcome.status === 'failed') console.log(outcome.error, outcome.strandedCounts.join());
  }
  return outcomes;
}

// Mistakes the types refuse.

export function refusedMistakes({ kernelStorage, hostStorage }: SwingStore, store: NativeKernelStore): void {
  // @ts-expect-error openSwingStore needs a directory; an in-memory store comes from initSwingStore()
  openSwingStore(null);
  // @ts-expect-error the artifact mode is an import's option and one of four words
  importSwingStore(makeSwingStoreExporter('/tmp/store'), null, { artifactMode: 'everything' });
  // @ts-expect-error a kvStore miss is undefined, not null
  const miss: string | null = hostStorage.kvStore.get('host.height');
  // @ts-expect-error values are strings; the kernel stringifies numbers itself
  kernelStorage.kvStore.set('crankNumber', miss === null ? 0 : 1);
  // @ts-expect-error a vat with no in-use snapshot has no info (the native type says so)
  console.log(store.getSnapshotInfo('v1').hash);
  // @ts-expect-error capdata needs its slots
  store.setVatParameters('v1', { body: '#null' });
  // @ts-expect-error vats to leave alone are a list of vatIDs or names
  planVatUpgrades(kernelStorage.kvStore, { exclude: 'comms' });
  // @ts-expect-error snapshot chunks are bytes
  new SnapshotWriter().write('heap');
}

// @ts-expect-error the swing-store-compatible entry does not re-export the loader's binding target
export type NotReExported = typeof import('swingset-kernel-store').__napiBindingTarget;
