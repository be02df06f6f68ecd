// The tests of @agoric/swing-store 0.10.0's own suite that cannot pass against our entry, each
// with the reason; the README names every one. `title` is AVA's `<file> › <test title>`, as
// upstream-swing-store.spec.mjs prints it. The spec fails if a listed test passes (or no longer
// exists), so this list only ever holds what really still fails.

/**
 * These four build a store with `makeSnapStore` / `makeTranscriptStore` on a better-sqlite3
 * connection of their own (`sqlite3(':memory:')`) and read the rows back through it. This
 * package's stores are native and run on the store's own connection, so its constructors take
 * only the handle a store of this package hands out (`internal.db`) and refuse any other with
 * ERR_FOREIGN_DATABASE; running our stores through a caller's better-sqlite3 handle would mean
 * a second, JS implementation of every store.
 */
const FOREIGN_CONNECTION =
  "it hands makeSnapStore/makeTranscriptStore its own better-sqlite3 connection and reads the rows back through it; this package's stores are native and run only on a connection of their own (internal.db), so it refuses a foreign handle with ERR_FOREIGN_DATABASE";

export default [
  { title: 'snapstore › compress to cache file; closes snapshot stream', reason: FOREIGN_CONNECTION },
  { title: 'snapstore › snapStore prepare / commit delete is robust', reason: FOREIGN_CONNECTION },
  { title: 'transcriptStore › span close operations are sync (with archiver)', reason: FOREIGN_CONNECTION },
  { title: 'transcriptStore › span close operations are sync (without archiver)', reason: FOREIGN_CONNECTION },
];
