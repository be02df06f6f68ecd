'use strict';
// The swing-store-compatible entry: `initSwingStore` / `openSwingStore` / `isSwingStore` with
// @agoric/swing-store 0.10.0's signatures and returned shape, built on the native KernelStore
// (which is also handed out, as `kernelStore`, over the same connection and transaction).
// Only what N-API cannot express lives here: facet objects, promise-returning wrappers,
// iterators over the native paged readers.

const fs = require('node:fs');
const path = require('node:path');
const { Readable } = require('node:stream');
const native = loadNative();

const { KernelStore, SnapshotWriter } = native;

/**
 * The native binding, or an error that says which platform lacks a binary and how to build one
 * (napi-rs's own loader error talks about npm's optional-dependency bugs instead).
 */
function loadNative() {
  try {
    return require('../index.js');
  } catch (cause) {
    const libc = process.platform === 'linux' ? (process.report?.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : '';
    const platform = `${process.platform}-${process.arch}${libc}`;
    const error = Error(
      `swingset-kernel-store could not load a native binary for ${platform} (prebuilt: linux-x64-gnu only). ` +
        'Build it from source with Rust (stable, 1.89 or newer) and Node.js 20 or newer: ' +
        'from a clone of the repository run `npm ci && npm run build`, then use that directory ' +
        '(or `npm pack` it) as the dependency.',
      { cause },
    );
    error.code = 'ERR_NO_NATIVE_BINARY';
    throw error;
  }
}

const DB_FILE_NAME = 'swingstore.sqlite';
/** Items per native page when iterating a transcript span. */
const SPAN_PAGE = 256;
/** Bytes per chunk when streaming a snapshot back out. */
const SNAPSHOT_CHUNK = 64 * 1024;

/** What the kernel would get from swing-store: frozen deeply when SES is there, else frozen. */
const harden = value => (typeof globalThis.harden === 'function' ? globalThis.harden(value) : Object.freeze(value));

const fail = (message, code) => {
  const error = Error(message);
  if (code) error.code = code;
  throw error;
};

const failType = message => {
  const error = TypeError(message);
  error.code = 'ERR_INVALID_ARG_TYPE';
  throw error;
};

/** swing-store's replacer options, each applied to one internal sub-store. */
const WRAP_OPTIONS = ['wrapKvStore', 'wrapTranscriptStore', 'wrapSnapStore', 'wrapBundleStore'];

/** Options swing-store has that this store does not implement; refused rather than ignored. */
const UNSUPPORTED_OPTIONS = ['asFile', 'serialized', 'traceFile', 'archiveSnapshot', 'archiveTranscript'];

function isSwingStore(dirPath) {
  typeof dirPath === 'string' || failType('dirPath must be a string');
  return fs.existsSync(dirPath) && fs.existsSync(path.resolve(dirPath, DB_FILE_NAME));
}

const makeKvFacet = kv =>
  harden({
    has: key => kv.has(key),
    get: key => kv.get(key),
    getNextKey: previousKey => kv.getNextKey(previousKey),
    set: (key, value, _bypassHash) => kv.set(key, value),
    delete: key => kv.delete(key),
  });

/**
 * The kernel or host facet built over a wrapped internal kvStore, as swing-store builds its
 * facets when given `wrapKvStore`: every read and store goes through the wrapper; the facet's
 * namespace check comes before it and the kernel's hashing after it.
 */
const makeLayeredKvFacet = (facet, wrapped) =>
  harden({
    has: key => wrapped.has(key),
    get: key => wrapped.get(key),
    getNextKey: previousKey => wrapped.getNextKey(previousKey),
    set: (key, value, _bypassHash) => {
      facet.checkWritable(key);
      wrapped.set(key, value);
      facet.recordWrite(key, value);
    },
    delete: key => {
      facet.checkWritable(key);
      wrapped.delete(key);
      facet.recordWrite(key);
    },
  });

/**
 * swing-store's emitCrankHashes reads and stores `activityhash` through the wrapped kvStore, so a
 * wrapper sees both calls; the hashing itself stays native (the wrapper's read is of the same
 * value the store reads, and its store repeats the native one).
 */
const emitThroughWrapper = (store, wrapped) => {
  wrapped.get('activityhash');
  const hashes = store.emitCrankHashes();
  wrapped.set('activityhash', hashes.activityhash);
  return hashes;
};

function makeTranscriptStore(store) {
  const readSpan = (vatID, startPos) => {
    const reader = store.readSpanBegin(vatID, startPos);
    function* items() {
      for (;;) {
        const page = reader.nextPage(SPAN_PAGE);
        if (page.length === 0) return;
        yield* page;
      }
    }
    return items();
  };
  return {
    initTranscript: vatID => store.initTranscript(vatID),
    rolloverSpan: async vatID => store.rolloverSpan(vatID),
    rolloverIncarnation: async vatID => store.rolloverIncarnation(vatID),
    getCurrentSpanBounds: vatID => store.getCurrentSpanBounds(vatID),
    addItem: (vatID, item) => store.addItem(vatID, item),
    readSpan,
    stopUsingTranscript: async vatID => store.stopUsingTranscript(vatID),
    deleteVatTranscripts: (vatID, budget) => store.deleteVatTranscripts(vatID, budget),
  };
}

function makeSnapStore(store) {
  async function saveSnapshot(vatID, snapPos, snapshotStream) {
    const writer = new SnapshotWriter();
    // Read through a Readable, as swing-store does: the kernel tees this stream in lockstep
    // with the restarted worker's loader, and a consumer that pulls one chunk at a time
    // (a bare for-await) was observed to deadlock against it with xs-worker.
    for await (const chunk of Readable.from(snapshotStream)) {
      writer.write(chunk);
    }
    const r = store.saveSnapshot(vatID, snapPos, writer);
    return harden({
      hash: r.hash,
      uncompressedSize: r.uncompressedSize,
      compressSeconds: r.compressSeconds,
      dbSaveSeconds: r.dbSaveSeconds,
      archiveWriteSeconds: undefined,
      compressedSize: r.compressedSize,
    });
  }
  async function* loadSnapshot(vatID) {
    const reader = store.loadSnapshot(vatID);
    for (;;) {
      const chunk = reader.readChunk(SNAPSHOT_CHUNK);
      if (chunk === undefined) return;
      yield chunk;
    }
  }
  const getSnapshotInfo = vatID => {
    const info = store.getSnapshotInfo(vatID);
    return info && harden({ ...info });
  };
  return {
    loadSnapshot,
    saveSnapshot,
    deleteAllUnusedSnapshots: () => store.deleteAllUnusedSnapshots(),
    deleteVatSnapshots: (vatID, budget) => store.deleteVatSnapshots(vatID, budget),
    stopUsingLastSnapshot: vatID => store.stopUsingLastSnapshot(vatID),
    getSnapshotInfo,
  };
}

/** `String(value)`, or `[<type>]` for a value that refuses (a throwing toString). */
const asText = value => {
  try {
    return String(value);
  } catch {
    return `[${typeof value}]`;
  }
};

/** A b0 bundle's JSON text: V8's property order decides its bundleID. */
const bundleJson = bundle => {
  try {
    return JSON.stringify(bundle);
  } catch (cause) {
    const error = Error(`bundle cannot be serialized as JSON: ${cause.message}`, { cause });
    error.code = 'ERR_INVALID_ARG_VALUE';
    throw error;
  }
};

function makeBundleStore(store) {
  const addBundle = (bundleID, bundle) => {
    typeof bundleID === 'string' || failType('bundleID must be a string');
    (bundle !== null && typeof bundle === 'object') || failType('bundle must be an object');
    const moduleFormat = bundle.moduleFormat === undefined ? '[undefined]' : asText(bundle.moduleFormat);
    if (bundleID.startsWith('b0-')) {
      return store.addBundleB0(bundleID, moduleFormat, bundleJson(bundle));
    }
    return store.addBundleB1(
      bundleID,
      moduleFormat,
      asText(bundle.endoZipBase64),
      asText(bundle.endoZipBase64Sha512),
    );
  };
  const getBundle = bundleID => {
    const data = store.getBundleData(bundleID);
    if (typeof data === 'string') {
      return harden(JSON.parse(data));
    }
    return harden({
      moduleFormat: 'endoZipBase64',
      endoZipBase64Sha512: bundleID.slice(3),
      endoZipBase64: data.toString('base64'),
    });
  };
  return {
    addBundle,
    hasBundle: bundleID => store.hasBundle(bundleID),
    getBundle,
    deleteBundle: bundleID => store.deleteBundle(bundleID),
  };
}

const pick = (object, names) => Object.fromEntries(names.map(name => [name, object[name]]));

function makeSwingStore(dirPath, forceReset, options = {}) {
  (options !== null && typeof options === 'object') || failType('options must be an object');
  const {
    readonly = false,
    unsafeFastMode = false,
    keepSnapshots = false,
    keepTranscripts = true,
    exportCallback,
    wrapKvStore = kv => kv,
    wrapTranscriptStore = s => s,
    wrapSnapStore = s => s,
    wrapBundleStore = s => s,
  } = options;
  for (const name of UNSUPPORTED_OPTIONS) {
    options[name] === undefined ||
      fail(`swingset-kernel-store does not support the swing-store option ${JSON.stringify(name)}`, 'ERR_UNSUPPORTED_OPTION');
  }
  exportCallback === undefined || typeof exportCallback === 'function' || failType('export callback must be a function');
  for (const name of WRAP_OPTIONS) {
    options[name] === undefined || typeof options[name] === 'function' || failType(`${name} must be a function`);
  }

  if (dirPath && forceReset) {
    fs.rmSync(dirPath, { recursive: true, force: true });
  }
  // swing-store reads these flags for truthiness.
  const store = KernelStore.open(dirPath || null, {
    readonly: !!readonly,
    unsafeFastMode: !!unsafeFastMode,
    keepSnapshots: !!keepSnapshots,
    keepTranscripts: !!keepTranscripts,
    ...(exportCallback && { exportCallback }),
  });
  try {
    const wrapped = (name, wrap, inner) => {
      const result = wrap(inner);
      if (result === null || typeof result !== 'object') fail(`${name} must return an object`, 'ERR_INVALID_ARG_VALUE');
      return result;
    };
    return makeFacets(store, dirPath, options.wrapKvStore !== undefined, {
      kvStore: wrapped('wrapKvStore', wrapKvStore, makeKvFacet(store.internalKvStore)),
      transcriptStore: wrapped('wrapTranscriptStore', wrapTranscriptStore, makeTranscriptStore(store)),
      snapStore: wrapped('wrapSnapStore', wrapSnapStore, makeSnapStore(store)),
      bundleStore: wrapped('wrapBundleStore', wrapBundleStore, makeBundleStore(store)),
    });
  } catch (error) {
    // A wrapper that threw must not leave the store open, holding its directory's lock.
    store.close();
    throw error;
  }
}

/**
 * swing-store's returned shape over the (possibly wrapped) internal stores. With `layered`
 * (a `wrapKvStore` was given) the kernel and host kvStores go through the wrapped one.
 */
function makeFacets(store, dirPath, layered, internalStores) {
  const { kvStore, transcriptStore, snapStore, bundleStore } = internalStores;
  const dbFile = dirPath ? path.resolve(dirPath, DB_FILE_NAME) : null;

  // Without a wrapper the facets stay native end to end: one boundary crossing per call.
  const kernelStorage = {
    kvStore: layered ? makeLayeredKvFacet(store.kvStore, kvStore) : makeKvFacet(store.kvStore),
    transcriptStore: pick(transcriptStore, [
      'initTranscript',
      'rolloverSpan',
      'rolloverIncarnation',
      'getCurrentSpanBounds',
      'addItem',
      'readSpan',
      'stopUsingTranscript',
      'deleteVatTranscripts',
    ]),
    snapStore: pick(snapStore, [
      'loadSnapshot',
      'saveSnapshot',
      'deleteAllUnusedSnapshots',
      'deleteVatSnapshots',
      'stopUsingLastSnapshot',
      'getSnapshotInfo',
    ]),
    bundleStore: pick(bundleStore, ['addBundle', 'hasBundle', 'getBundle', 'deleteBundle']),
    startCrank: () => store.startCrank(),
    establishCrankSavepoint: savepoint => store.establishCrankSavepoint(savepoint),
    rollbackCrank: savepoint => store.rollbackCrank(savepoint),
    emitCrankHashes: layered ? () => emitThroughWrapper(store, kvStore) : () => store.emitCrankHashes(),
    endCrank: () => store.endCrank(),
    getActivityhash: layered ? () => kvStore.get('activityhash') ?? '' : () => store.getActivityhash(),
  };

  const hostStorage = {
    repairMetadata: async () =>
      fail('swingset-kernel-store does not implement repairMetadata', 'ERR_UNSUPPORTED_OPERATION'),
    kvStore: layered ? makeLayeredKvFacet(store.hostKvStore, kvStore) : makeKvFacet(store.hostKvStore),
    commit: async () => store.commit(),
    close: async () => store.close(),
    diskUsage: () => (dbFile ? fs.statSync(dbFile).size : 0),
  };

  const debug = {
    serialize: () => fail('swingset-kernel-store does not serialize databases', 'ERR_UNSUPPORTED_OPERATION'),
    dump: () => ({ kvEntries: Object.fromEntries(store.dumpKv()) }),
    getDatabase: () => null,
  };

  const internal = {
    dirPath: dirPath || null,
    asFile: false,
    db: null,
    kvStore,
    snapStore,
    transcriptStore,
    bundleStore,
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

exports.initSwingStore = initSwingStore;
exports.openSwingStore = openSwingStore;
exports.isSwingStore = isSwingStore;
exports.auditRefcounts = native.auditRefcounts;
exports.KernelStore = KernelStore;
exports.KvStore = native.KvStore;
exports.SnapshotWriter = SnapshotWriter;
exports.SnapshotReader = native.SnapshotReader;
exports.SpanReader = native.SpanReader;
