// ESM entry: the same exports as the CommonJS one.
import entry from './index.cjs';

export const {
  initSwingStore,
  openSwingStore,
  isSwingStore,
  auditRefcounts,
  KernelStore,
  KvStore,
  SnapshotWriter,
  SnapshotReader,
  SpanReader,
} = entry;
