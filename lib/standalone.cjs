'use strict';
// The rest of @agoric/swing-store's entry, for tools (SwingSet's misc-tools, replay tools):
// `getKeyType`, `bundleIDFromName`, `makeSnapStoreIO`, and the store constructors
// `makeKVStore(db, ...)`, `makeTranscriptStore(db, ...)`, `makeSnapStore(db, ...)` and
// `makeBundleStore(db, ...)`. swing-store's constructors take a better-sqlite3 handle and
// run their own SQL on it; this store's stores are native and run on the store's own
// connection, so they take the handle a store of this package hands out (`internal.db`,
// `debug.getDatabase()`) and return that store's own stores: its options (keepTranscripts,
// archive callbacks, exportCallback) are the ones it was opened with, and `ensureTxn` and
// `noteExport` are the store's own.

const { coded, describe, fail, failType } = require('./errors.cjs');
const harden = require('./harden.cjs');
const { storeOf } = require('./database.cjs');
const { makeKvFacet, makeTranscriptStore: transcripts, makeSnapStore: snapshots, makeBundleStore: bundles } = require('./stores.cjs');

const getKeyType = key => {
  typeof key === 'string' || failType('key must be a string');
  if (key.startsWith('local.')) return 'local';
  if (key.startsWith('host.')) return 'host';
  return 'consensus';
};

const bundleIDFromName = name => {
  typeof name === 'string' || failType('artifact name must be a string');
  const [tag, ...pieces] = name.split('.');
  if (tag !== 'bundle' || pieces.length !== 1) {
    fail(`expected artifact name of the form 'bundle.{bundleID}', saw ${JSON.stringify(name)}`, 'ERR_INVALID_ARTIFACT_NAME');
  }
  return pieces[0];
};

/** swing-store's `makeSnapStoreIO()`: how a snapStore measures its work. */
const makeSnapStoreIO = () =>
  harden({
    measureSeconds: async fn => {
      typeof fn === 'function' || failType(`measureSeconds(fn): fn must be a function (the work to time), not ${describe(fn)}`);
      const start = performance.now();
      const result = await fn();
      return { result, duration: (performance.now() - start) / 1000 };
    },
  });

/** The native store behind `db`, or the error saying what `db` must be. */
const nativeStore = db => {
  const store = storeOf(db);
  if (store) return store;
  throw coded(
    TypeError(
      'db must be the internal.db (or debug.getDatabase()) of a store this package opened: ' +
        "its stores are native and run on the store's own connection, not on another SQLite handle",
    ),
    'ERR_FOREIGN_DATABASE',
  );
};

const makeKVStore = db => makeKvFacet(nativeStore(db).internalKvStore);
const makeTranscriptStore = db => harden(transcripts(nativeStore(db)));
const makeSnapStore = db => harden(snapshots(nativeStore(db)));
const makeBundleStore = db => harden(bundles(nativeStore(db)));

module.exports = {
  getKeyType,
  bundleIDFromName,
  makeSnapStoreIO,
  makeKVStore,
  makeTranscriptStore,
  makeSnapStore,
  makeBundleStore,
};
