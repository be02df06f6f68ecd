// ESM entry: the same exports as the CommonJS one, and, as Node gives an `import` of any
// CommonJS module, the whole of it as the default export (which its types promise). The
// names repeat index.cjs's list on purpose: ESM named exports must be spelled out statically,
// and packaging.spec.mjs checks that both lists agree.
import entry from './index.cjs';

export const {
  initSwingStore,
  openSwingStore,
  isSwingStore,
  makeSwingStoreExporter,
  importSwingStore,
  makeArchiveSnapshot,
  makeArchiveTranscript,
  makeKVStore,
  getKeyType,
  makeTranscriptStore,
  makeSnapStore,
  makeSnapStoreIO,
  makeBundleStore,
  bundleIDFromName,
  auditRefcounts,
  KernelStore,
  KvStore,
  SnapshotWriter,
  SnapshotReader,
  SpanReader,
  Exporter,
  Importer,
  upgradeAllVats,
  planVatUpgrades,
  readUpgradeOutcomes,
} = entry;

export default entry;
