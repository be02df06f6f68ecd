'use strict';
// swing-store's kvStore, transcriptStore, snapStore and bundleStore over a native KernelStore:
// each is the whole internal store (what `internal.*` and the `wrap*Store` replacers see),
// from which makeSwingStore picks the kernel's attenuated facets. Only what N-API cannot
// express lives here: promise-returning wrappers, iterators over the native paged readers,
// and the host's archive callbacks.

const { Readable } = require('node:stream');
const { SnapshotWriter } = require('./native.cjs');
const { coded, describe, failType } = require('./errors.cjs');
const { isIterable } = require('./feed.cjs');
const { exportRows } = require('./export-rows.cjs');
const harden = require('./harden.cjs');

/** Items per native page when iterating a transcript span or a listing. */
const PAGE = 256;
/** Bytes per chunk when streaming a snapshot or artifact back out. */
const CHUNK = 64 * 1024;

/** Every item of a native paged reader, as a (sync) generator. */
function* pages(reader) {
  for (;;) {
    const page = reader.nextPage(PAGE);
    if (page.length === 0) return;
    yield* page;
  }
}

/** Every chunk of a native chunked reader, as an async generator. */
async function* chunks(reader) {
  for (;;) {
    const chunk = reader.readChunk(CHUNK);
    if (chunk === undefined) return;
    yield chunk;
  }
}

/** An async generator that fails at its first step, as swing-store's lazy ones do. */
async function* failing(error) {
  throw error;
}

/** Any iterable or async iterable of `Uint8Array` chunks, fed to `write` one at a time. */
const feedChunks = async (iterable, name, write) => {
  isIterable(iterable) || failType(`artifact ${JSON.stringify(name)} must be an iterable of Uint8Array chunks`);
  for await (const chunk of iterable) {
    if (typeof chunk === 'string') write(Buffer.from(chunk));
    else if (chunk instanceof Uint8Array) write(chunk);
    else failType(`artifact ${JSON.stringify(name)} must yield Uint8Array chunks`);
  }
};

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

/** swing-store's `artifactMode` of a populate call's options. */
const artifactModeOf = options => (options && options.artifactMode) || 'operational';

/**
 * `populate*` / `importBundle` on a store's own connection: the artifact's chunks from
 * `makeChunkIterator()` go in, checked against its record, unless the mode leaves it out.
 */
const populate = async (store, method, name, makeChunkIterator, artifactMode) => {
  typeof makeChunkIterator === 'function' ||
    failType(`${method}(name, makeChunkIterator, options): makeChunkIterator must be a function returning the artifact's chunks, not ${describe(makeChunkIterator)}`);
  const artifact = store.beginArtifactImport(name, artifactMode);
  if (artifact === undefined) return;
  try {
    await feedChunks(await makeChunkIterator(), name, chunk => artifact.write(chunk));
  } catch (error) {
    // The source failed: what the artifact stored so far goes, so the call changes nothing.
    artifact.abandon();
    throw error;
  }
  artifact.finish();
};

/** The export-side and import-side calls every internal store has, for its scope. */
const makeArtifactCalls = (store, scope) => ({
  getExportRecords: (includeHistorical = true) =>
    exportRows(store.exportRecords(scope, includeHistorical), () => !store.closed),
  getArtifactNames: async function* getArtifactNames(artifactMode) {
    yield* pages(store.storeArtifactNames(artifactMode, scope));
  },
  assertComplete: checkMode => store.assertComplete(checkMode, scope),
});

/** An artifact of this store as an export reads it; `lazy` errors wait for the first step. */
const exportArtifact = (store, name, lazy) => {
  typeof name === 'string' || failType('artifact name must be a string');
  let reader;
  try {
    reader = store.openStoreArtifact(name);
  } catch (error) {
    if (lazy) return failing(error);
    throw error;
  }
  return chunks(reader);
};

/**
 * The transcriptStore. `archiveTranscript`, when given, receives each span a rollover or
 * `stopUsingTranscript` closes, and is awaited before the call resolves, as in swing-store.
 */
function makeTranscriptStore(store, { archiveTranscript } = {}) {
  const archiveClosedSpan = async () => {
    const closed = store.takeClosedSpan();
    if (closed && archiveTranscript) {
      await archiveTranscript(
        closed.name,
        closed.items.map(item => Buffer.from(`${item}\n`)),
      );
    }
  };
  const readSpan = (vatID, startPos) => pages(store.readSpanBegin(vatID, startPos));
  function* readFullVatTranscript(vatID) {
    let after;
    for (;;) {
      const page = store.readFullVatTranscript(vatID, after, PAGE);
      if (page.length === 0) return;
      for (const { position, item } of page) yield { vatID, position, item };
      after = page[page.length - 1].position;
    }
  }
  return {
    initTranscript: vatID => store.initTranscript(vatID),
    rolloverSpan: async vatID => {
      const incarnation = store.rolloverSpan(vatID);
      await archiveClosedSpan();
      return incarnation;
    },
    rolloverIncarnation: async vatID => {
      const incarnation = store.rolloverIncarnation(vatID);
      await archiveClosedSpan();
      return incarnation;
    },
    getCurrentSpanBounds: vatID => store.getCurrentSpanBounds(vatID),
    addItem: (vatID, item) => store.addItem(vatID, item),
    readSpan,
    stopUsingTranscript: async vatID => {
      store.stopUsingTranscript(vatID);
      await archiveClosedSpan();
    },
    deleteVatTranscripts: (vatID, budget) => store.deleteVatTranscripts(vatID, budget),

    exportSpan: name => exportArtifact(store, name, true),
    ...makeArtifactCalls(store, 'transcript'),
    importTranscriptSpanRecord: (key, value) => store.installRecord(key, value),
    populateTranscriptSpan: (name, makeChunkIterator, options) =>
      populate(store, 'populateTranscriptSpan', name, makeChunkIterator, artifactModeOf(options)),
    repairTranscriptSpanRecord: (key, value) => store.installRecord(key, value, true),
    readFullVatTranscript: vatID => readFullVatTranscript(vatID),

    dumpTranscripts: (includeHistorical = true) => {
      const dump = {};
      for (const { vatID, entries } of store.dumpTranscripts(includeHistorical)) {
        dump[vatID] = Object.fromEntries(entries.map(({ position, item }) => [position, item]));
      }
      return dump;
    },
  };
}

/** A stream's chunks as a Readable yields them, each a Buffer. */
const snapshotChunks = snapshotStream => {
  try {
    return Readable.from(snapshotStream);
  } catch (cause) {
    throw coded(TypeError(`snapshotStream must be an iterable of Uint8Array chunks: ${cause.message}`, { cause }), 'ERR_INVALID_ARG_TYPE');
  }
};

/** Seconds since `start` (a `performance.now()` reading). */
const secondsSince = start => (performance.now() - start) / 1000;

/**
 * The snapStore. `archiveSnapshot`, when given, receives each new snapshot's export key and
 * gzip bytes after it is saved, and is awaited (and timed) before `saveSnapshot` resolves.
 */
function makeSnapStore(store, { archiveSnapshot } = {}) {
  async function saveSnapshot(vatID, snapPos, snapshotStream) {
    const writer = new SnapshotWriter();
    // Read through a Readable, as swing-store does: the kernel tees this stream in lockstep
    // with the restarted worker's loader, and a consumer that pulls one chunk at a time
    // (a bare for-await) was observed to deadlock against it with xs-worker.
    for await (const chunk of snapshotChunks(snapshotStream)) {
      writer.write(chunk);
    }
    const r = store.saveSnapshot(vatID, snapPos, writer);
    const saved = store.takeSavedSnapshot();
    let archiveWriteSeconds;
    if (saved && archiveSnapshot) {
      const start = performance.now();
      await archiveSnapshot(saved.name, saved.data);
      archiveWriteSeconds = secondsSince(start);
    }
    return harden({
      hash: r.hash,
      uncompressedSize: r.uncompressedSize,
      compressSeconds: r.compressSeconds,
      dbSaveSeconds: r.dbSaveSeconds,
      archiveWriteSeconds,
      compressedSize: r.compressedSize,
    });
  }
  async function* loadSnapshot(vatID) {
    yield* chunks(store.loadSnapshot(vatID));
  }
  const getSnapshotInfo = vatID => {
    const info = store.getSnapshotInfo(vatID);
    return info && harden({ ...info });
  };
  function* listAllSnapshots() {
    for (const row of store.listSnapshots()) {
      const { vatID, snapPos, inUse = null, hash, uncompressedSize = null, compressedSize = null } = row;
      yield { vatID, snapPos, inUse, hash, uncompressedSize, compressedSize };
    }
  }
  return {
    loadSnapshot,
    saveSnapshot,
    deleteAllUnusedSnapshots: () => store.deleteAllUnusedSnapshots(),
    deleteVatSnapshots: (vatID, budget) => store.deleteVatSnapshots(vatID, budget),
    stopUsingLastSnapshot: vatID => store.stopUsingLastSnapshot(vatID),
    getSnapshotInfo,

    exportSnapshot: name => exportArtifact(store, name, false),
    ...makeArtifactCalls(store, 'snapshot'),
    importSnapshotRecord: (key, value) => store.installRecord(key, value),
    populateSnapshot: (name, makeChunkIterator, options) =>
      populate(store, 'populateSnapshot', name, makeChunkIterator, artifactModeOf(options)),
    repairSnapshotRecord: (key, value) => store.installRecord(key, value, true),

    hasHash: (vatID, hash) => store.hasSnapshotHash(vatID, hash),
    listAllSnapshots,
    deleteSnapshotByHash: (vatID, hash) => store.deleteSnapshotByHash(vatID, hash),
    dumpSnapshots: (includeHistorical = true) => {
      const dump = {};
      for (const { vatID, snapPos, hash, compressedSnapshot = null, inUse } of store.dumpSnapshots(includeHistorical)) {
        (dump[vatID] ||= []).push({ snapPos, hash, compressedSnapshot, inUse });
      }
      return dump;
    },
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
    throw coded(Error(`bundle cannot be serialized as JSON: ${cause.message}`, { cause }), 'ERR_INVALID_ARG_VALUE');
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
  function* getBundleIDs() {
    let after;
    for (;;) {
      const page = store.bundleIds(after, PAGE);
      if (page.length === 0) return;
      yield* page;
      after = page[page.length - 1];
    }
  }
  return {
    addBundle,
    hasBundle: bundleID => store.hasBundle(bundleID),
    getBundle,
    deleteBundle: bundleID => store.deleteBundle(bundleID),

    exportBundle: name => exportArtifact(store, name, true),
    ...makeArtifactCalls(store, 'bundle'),
    importBundleRecord: (key, value) => store.installRecord(key, value),
    importBundle: async (name, dataProvider) => {
      typeof dataProvider === 'function' || failType(`importBundle(name, dataProvider): dataProvider must be a function returning the bundle's bytes, not ${describe(dataProvider)}`);
      const data = await dataProvider();
      await populate(store, 'importBundle', name, () => [data], 'operational');
    },
    repairBundleRecord: (key, value) => store.installRecord(key, value, true),
    getBundleIDs,
    dumpBundles: () => Object.fromEntries(store.dumpBundles()),
  };
}

module.exports = {
  PAGE,
  CHUNK,
  pages,
  chunks,
  failing,
  feedChunks,
  makeKvFacet,
  makeLayeredKvFacet,
  makeTranscriptStore,
  makeSnapStore,
  makeBundleStore,
};
