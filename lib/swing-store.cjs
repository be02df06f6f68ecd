'use strict';
// `initSwingStore` / `openSwingStore` / `isSwingStore` with @agoric/swing-store 0.10.0's
// signatures, options and returned shape, built on the native KernelStore (which is also
// handed out, as `kernelStore`, over the same connection and transaction).

const fs = require('node:fs');
const path = require('node:path');
const { KernelStore } = require('./native.cjs');
const { fail, failType, isObject } = require('./errors.cjs');
const harden = require('./harden.cjs');
const { makeDatabase } = require('./database.cjs');
const { repairMetadata } = require('./repair.cjs');
const {
  makeKvFacet,
  makeLayeredKvFacet,
  makeTranscriptStore,
  makeSnapStore,
  makeBundleStore,
} = require('./stores.cjs');

const DB_FILE_NAME = 'swingstore.sqlite';

/** swing-store's replacer options, each applied to one internal sub-store. */
const WRAP_OPTIONS = ['wrapKvStore', 'wrapTranscriptStore', 'wrapSnapStore', 'wrapBundleStore'];

/** swing-store's callback options. */
const CALLBACK_OPTIONS = ['exportCallback', 'archiveSnapshot', 'archiveTranscript'];

function isSwingStore(dirPath) {
  typeof dirPath === 'string' || failType('dirPath must be a string');
  return fs.existsSync(dirPath) && fs.existsSync(path.resolve(dirPath, DB_FILE_NAME));
}

/** The kernel's view of each store: swing-store's `attenuate` picks. */
const pick = (object, names) => Object.fromEntries(names.map(name => [name, object[name]]));
const KERNEL_TRANSCRIPT_STORE = [
  'initTranscript',
  'rolloverSpan',
  'rolloverIncarnation',
  'getCurrentSpanBounds',
  'addItem',
  'readSpan',
  'stopUsingTranscript',
  'deleteVatTranscripts',
];
const KERNEL_SNAP_STORE = [
  'loadSnapshot',
  'saveSnapshot',
  'deleteAllUnusedSnapshots',
  'deleteVatSnapshots',
  'stopUsingLastSnapshot',
  'getSnapshotInfo',
];
const KERNEL_BUNDLE_STORE = ['addBundle', 'hasBundle', 'getBundle', 'deleteBundle'];

/** The native store's options from swing-store's (flags read for truthiness, as it does). */
const nativeOptions = options => {
  const { readonly, unsafeFastMode, keepSnapshots, keepTranscripts = true, exportCallback } = options;
  const { traceFile, archiveSnapshot, archiveTranscript, asFile, serialized } = options;
  return {
    readonly: !!readonly,
    unsafeFastMode: !!unsafeFastMode,
    keepSnapshots: !!keepSnapshots,
    keepTranscripts: !!keepTranscripts,
    archiveSnapshots: !!archiveSnapshot,
    archiveTranscripts: !!archiveTranscript,
    asFile: !!asFile,
    ...(exportCallback && { exportCallback }),
    ...(traceFile && { traceFile: path.resolve(traceFile) }),
    ...(serialized && { serialized }),
  };
};

/** Checks what swing-store checks of its options, before anything is opened. */
const checkOptions = (dirPath, options) => {
  isObject(options) || failType('options must be an object');
  const { serialized } = options;
  if (serialized) {
    Buffer.isBuffer(serialized) || failType('options.serialized must be Buffer');
    dirPath === null || fail('options.serialized makes :memory: DB', 'ERR_INVALID_ARG_VALUE');
  }
  for (const name of CALLBACK_OPTIONS) {
    options[name] === undefined || typeof options[name] === 'function' || failType(`${name} must be a function`);
  }
  for (const name of WRAP_OPTIONS) {
    options[name] === undefined || typeof options[name] === 'function' || failType(`${name} must be a function`);
  }
  options.traceFile === undefined || typeof options.traceFile === 'string' || failType('traceFile must be a string');
};

/** swing-store's `makeSwingStore(path, forceReset, options)`. */
function makeSwingStore(dirPath, forceReset, options = {}) {
  checkOptions(dirPath, options);
  if (dirPath && forceReset) {
    fs.rmSync(dirPath, { recursive: true, force: true });
  }
  const store = KernelStore.open(dirPath || null, nativeOptions(options));
  try {
    return makeFacets(store, dirPath, options);
  } catch (error) {
    // A wrapper that threw must not leave the store open, holding its directory's lock.
    store.close();
    throw error;
  }
}

/** Applies a `wrap*Store` replacer, which must hand back an object. */
const wrapped = (name, wrap, inner) => {
  const result = wrap ? wrap(inner) : inner;
  if (result === null || typeof result !== 'object') fail(`${name} must return an object`, 'ERR_INVALID_ARG_VALUE');
  return result;
};

/**
 * swing-store's `emitCrankHashes` reads and stores `activityhash` through the wrapped kvStore,
 * so a wrapper sees both calls; the hashing itself stays native (the wrapper's read is of the
 * same value the store reads, and its store repeats the native one).
 */
const emitThroughWrapper = (store, wrappedKv) => {
  wrappedKv.get('activityhash');
  const hashes = store.emitCrankHashes();
  wrappedKv.set('activityhash', hashes.activityhash);
  return hashes;
};

/**
 * swing-store's returned shape over the (possibly wrapped) internal stores, and, as
 * `kernelStore`, the native store itself. With a `wrapKvStore` the kernel and host kvStores go
 * through the wrapped one; without, they stay native end to end: one boundary crossing a call.
 */
function makeFacets(store, dirPath, options) {
  const { asFile = false, archiveSnapshot, archiveTranscript } = options;
  const layered = options.wrapKvStore !== undefined;
  const kvStore = wrapped('wrapKvStore', options.wrapKvStore, makeKvFacet(store.internalKvStore));
  const { dumpTranscripts, ...transcriptStore } = wrapped(
    'wrapTranscriptStore',
    options.wrapTranscriptStore,
    makeTranscriptStore(store, { archiveTranscript }),
  );
  const { dumpSnapshots, ...snapStore } = wrapped(
    'wrapSnapStore',
    options.wrapSnapStore,
    makeSnapStore(store, { archiveSnapshot }),
  );
  const { dumpBundles, ...bundleStore } = wrapped('wrapBundleStore', options.wrapBundleStore, makeBundleStore(store));
  const dbFile = dirPath ? (asFile ? path.resolve(dirPath) : path.resolve(dirPath, DB_FILE_NAME)) : null;
  const db = makeDatabase(store);

  const kernelStorage = {
    kvStore: layered ? makeLayeredKvFacet(store.kvStore, kvStore) : makeKvFacet(store.kvStore),
    transcriptStore: pick(transcriptStore, KERNEL_TRANSCRIPT_STORE),
    snapStore: pick(snapStore, KERNEL_SNAP_STORE),
    bundleStore: pick(bundleStore, KERNEL_BUNDLE_STORE),
    startCrank: () => store.startCrank(),
    establishCrankSavepoint: savepoint => store.establishCrankSavepoint(savepoint),
    rollbackCrank: savepoint => store.rollbackCrank(savepoint),
    emitCrankHashes: layered ? () => emitThroughWrapper(store, kvStore) : () => store.emitCrankHashes(),
    endCrank: () => store.endCrank(),
    getActivityhash: layered ? () => kvStore.get('activityhash') || '' : () => store.getActivityhash(),
  };

  const internal = harden({
    dirPath: asFile ? null : dirPath || null,
    asFile,
    db,
    kvStore,
    snapStore,
    transcriptStore,
    bundleStore,
  });

  const hostStorage = {
    repairMetadata: exporter => repairMetadata(store, exporter),
    kvStore: layered ? makeLayeredKvFacet(store.hostKvStore, kvStore) : makeKvFacet(store.hostKvStore),
    commit: async () => store.commit(),
    close: async () => store.close(),
    diskUsage: () => (dbFile ? fs.statSync(dbFile).size : 0),
  };

  const debug = {
    serialize: () => store.serialize(),
    dump: (includeHistorical = true) =>
      harden({
        kvEntries: Object.fromEntries(store.dumpKv()),
        transcripts: dumpTranscripts(includeHistorical),
        snapshots: dumpSnapshots(includeHistorical),
        bundles: dumpBundles(),
      }),
    getDatabase: () => db,
  };

  return harden({ kernelStorage, hostStorage, debug, internal, kernelStore: store });
}

function initSwingStore(dirPath = null, options = {}) {
  dirPath && typeof dirPath !== 'string' && failType('path must be a string');
  return makeSwingStore(dirPath, true, options);
}

function openSwingStore(dirPath, options = {}) {
  typeof dirPath === 'string' || failType('path must be a string');
  return makeSwingStore(dirPath, false, options);
}

module.exports = { initSwingStore, openSwingStore, isSwingStore, makeFacets, nativeOptions };
