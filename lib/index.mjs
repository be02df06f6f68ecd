// ESM entry: the same exports as the CommonJS one, and, as Node gives an `import` of any
// CommonJS module, the whole of it as the default export (which its types promise).
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

export default entry;
