// The rest of swing-store 0.10.0's options and debugging calls, differentially: the same
// operations through @agoric/swing-store and through this package must give the same
// traceFile lines, the same archiveSnapshot / archiveTranscript calls (and the same archive
// files from makeArchiveSnapshot / makeArchiveTranscript), images that each one's `serialized`
// option loads from the other's debug.serialize(), the same debug.dump(), the same rows from
// the internal stores' listings, and the same answers from internal.db's read queries as
// better-sqlite3 gives on swing-store's own handle.
import '@endo/init/debug.js';
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import tmp from 'tmp';

import {
  IMPLS, SIDES, attempt, outcomeProblems, show, makeBundles, makeWorkload, applyOp, memoize,
  openPair, closePair, runLockstep, comparableDump,
} from './support/state-sync.mjs';
import { writeExportDir } from './support/export-files.mjs';
import { runWatched } from './support/child-process.mjs';
import { makeTempDir, removeTempDirs } from './kernel-helpers.mjs';

const TRACE_CHILD = fileURLToPath(new URL('./fixtures/state-sync/trace-child.mjs', import.meta.url));

/** Closes the stores the tests below left open for each other, before their directories go. */
const closers = [];
test.after.always(async () => {
  for (const close of closers) await close();
  removeTempDirs();
});

const bundles = memoize(() => makeBundles(2));
const sha256 = data => crypto.createHash('sha256').update(data).digest('hex');

/** A store of implementation `side` (in memory unless `dir` is given) after the seeded workload. */
const storeAfterWorkload = async (side, seed, options = {}, dir = null) => {
  const bundleList = await bundles();
  const store = IMPLS[side].initSwingStore(dir, options);
  for (const op of makeWorkload(seed, { blocks: 8, cranks: 5, bundleCount: bundleList.length })) await applyOp(store, op, bundleList);
  return store;
};

// ------------------------------------------------------------------------- traceFile ---

const PRIOR_TRACE = 'a line the file held before\n';

/** Runs the trace child for both implementations; each side's trace file, once it exited. */
const tracesOf = async (mode, arg) => {
  const traces = {};
  for (const side of SIDES) {
    const dir = makeTempDir(`trace-${side}`);
    const traceFile = path.join(dir, 'trace.log');
    fs.writeFileSync(traceFile, PRIOR_TRACE);
    const run = await runWatched(TRACE_CHILD, [side, traceFile, path.join(dir, 'store'), mode, arg]);
    if (run.code !== 0) throw Error(`the ${side} trace child failed (${run.code ?? run.signal})\n${run.stderr}`);
    traces[side] = fs.readFileSync(traceFile, 'utf8');
  }
  return traces;
};

test("traceFile gets swing-store's lines for the same cranks, appended to what the file held", async t => {
  const traces = await tracesOf('workload', '5');
  t.true(traces.ref.startsWith(PRIOR_TRACE));
  t.true(traces.ref.split('\n').length > 30, 'the workload traced little');
  t.is(traces.ours, traces.ref);
});

test("an import with traceFile traces swing-store's lines", async t => {
  const dir = makeTempDir('trace-source');
  const store = await storeAfterWorkload('ref', 6, {}, path.join(dir, 'store'));
  await store.hostStorage.close();
  const exportDir = path.join(dir, 'export');
  await writeExportDir(IMPLS.ref.makeSwingStoreExporter(path.join(dir, 'store'), { artifactMode: 'operational' }), exportDir);
  const traces = await tracesOf('import', exportDir);
  t.true(traces.ref.split('\n').length > 10, 'the import traced little');
  t.is(traces.ours, traces.ref);
});

// ----------------------------------------------------------------- archive callbacks ---

/** The next turn: an archive callback that takes time. */
const laterTurn = () => new Promise(resolve => setImmediate(resolve));

/**
 * Runs a workload on a store of implementation `side` with archive callbacks that log when
 * they are called (name, contents) and when they finish, between the log's marks of each
 * call's start, its synchronous return and its settling.
 */
const archiveLog = async (side, seed, options) => {
  const log = [];
  const gunzipped = data => sha256(zlib.gunzipSync(Buffer.concat([data].flat())));
  const store = IMPLS[side].initSwingStore(null, {
    ...options,
    archiveSnapshot: async (name, gzData) => {
      log.push(['archiveSnapshot', name, gunzipped(gzData)]);
      await laterTurn();
      log.push(['archiveSnapshot done', name]);
    },
    archiveTranscript: async (name, entries) => {
      const chunks = [];
      for await (const chunk of entries) chunks.push(Buffer.from(chunk));
      log.push(['archiveTranscript', name, Buffer.concat(chunks).toString()]);
      await laterTurn();
      log.push(['archiveTranscript done', name]);
    },
  });
  for (const [i, op] of makeWorkload(seed, { blocks: 10, cranks: 5 }).entries()) {
    log.push(['call', i, op.type]);
    const settled = attempt(() => applyOp(store, op, []));
    log.push(['returned', i]);
    log.push(['settled', i, (await settled).ok]);
  }
  await store.hostStorage.close();
  return log;
};

for (const options of [{}, { keepTranscripts: false, keepSnapshots: true }]) {
  test(`archiveSnapshot and archiveTranscript are called at swing-store's points, with its names and contents, and awaited (${show(options)})`, async t => {
    const logs = {};
    for (const side of SIDES) logs[side] = await archiveLog(side, 7, options);
    const archived = logs.ref.filter(([what]) => what.startsWith('archive'));
    t.true(archived.some(([what]) => what === 'archiveSnapshot') && archived.some(([what]) => what === 'archiveTranscript'));
    const at = logs.ref.findIndex((entry, i) => !isDeepStrictEqual(entry, logs.ours[i]));
    t.is(at, -1, `first difference at ${at}: ${show(logs.ref.slice(at - 3, at + 2))} vs ${show(logs.ours.slice(at - 3, at + 2))}`);
  });
}

test("an archive callback's rejection rejects the call as in swing-store, after the same store changes", async t => {
  const outcomes = {};
  for (const side of SIDES) {
    const failure = Error('the archive disk is full');
    const store = IMPLS[side].initSwingStore(null, {
      archiveTranscript: async () => {
        throw failure;
      },
      archiveSnapshot: async () => {
        throw failure;
      },
    });
    const { transcriptStore, snapStore } = store.kernelStorage;
    transcriptStore.initTranscript('v1');
    transcriptStore.addItem('v1', 'one');
    const rollover = await attempt(() => transcriptStore.rolloverSpan('v1'));
    const save = await attempt(() => snapStore.saveSnapshot('v1', 1, [Buffer.from('snapshot')]));
    const stop = await attempt(() => transcriptStore.stopUsingTranscript('v1'));
    outcomes[side] = { rollover, save, stop, dump: comparableDump(store.debug.dump()) };
    await store.hostStorage.close();
  }
  for (const call of ['rollover', 'save', 'stop']) {
    t.false(outcomes.ref[call].ok);
    t.is(outcomes.ours[call].message, outcomes.ref[call].message, call);
  }
  t.deepEqual(outcomes.ours.dump, outcomes.ref.dump);
});

/** Every file in `dir`, by name: its bytes. */
const filesOf = dir => Object.fromEntries(fs.readdirSync(dir).sort().map(name => [name, fs.readFileSync(path.join(dir, name))]));

/** Runs the workload on `storeSide`'s store, archiving with `archiverSide`'s makeArchive*; the files written. */
const archiveFiles = async (storeSide, archiverSide) => {
  const dir = makeTempDir(`archive-${storeSide}-${archiverSide}`);
  const powers = { fs, path, tmp };
  const store = await storeAfterWorkload(storeSide, 9, {
    archiveSnapshot: IMPLS[archiverSide].makeArchiveSnapshot(path.join(dir, 'snapshots'), powers),
    archiveTranscript: IMPLS[archiverSide].makeArchiveTranscript(path.join(dir, 'transcripts'), powers),
  });
  await store.hostStorage.close();
  return { snapshots: filesOf(path.join(dir, 'snapshots')), transcripts: filesOf(path.join(dir, 'transcripts')) };
};

test("makeArchiveSnapshot and makeArchiveTranscript write swing-store's .gz files, byte for byte, for the same calls", async t => {
  const ref = await archiveFiles('ref', 'ref');
  const mine = await archiveFiles('ref', 'ours');
  t.true(Object.keys(ref.snapshots).length > 1 && Object.keys(ref.transcripts).length > 1, show(Object.keys(ref)));
  t.deepEqual(Object.keys(mine.snapshots), Object.keys(ref.snapshots));
  t.deepEqual(Object.keys(mine.transcripts), Object.keys(ref.transcripts));
  t.true(Object.keys(mine.snapshots).every(name => /^snapshot\.v\d+\.\d+\.gz$/.test(name)), 'a temporary file was left behind');
  t.deepEqual(mine, ref);
});

test("a store of ours archiving with our archivers writes swing-store's transcript files byte for byte, and its snapshots' contents", async t => {
  // A snapshot's gzip bytes are the store's own compression (not consensus, not hashed): ours
  // and swing-store's zlib settings may differ, so only the contents must be the same.
  const ref = await archiveFiles('ref', 'ref');
  const mine = await archiveFiles('ours', 'ours');
  t.deepEqual(mine.transcripts, ref.transcripts);
  t.deepEqual(Object.keys(mine.snapshots), Object.keys(ref.snapshots));
  for (const name of Object.keys(ref.snapshots)) {
    t.true(zlib.gunzipSync(mine.snapshots[name]).equals(zlib.gunzipSync(ref.snapshots[name])), name);
  }
});

// ------------------------------------------------------------------------ serialized ---

test("each implementation's serialized option loads the other's debug.serialize() image, and both carry on alike", async t => {
  const images = {};
  const expected = {};
  for (const side of SIDES) {
    const store = await storeAfterWorkload(side, 10);
    images[side] = store.debug.serialize();
    expected[side] = comparableDump(store.debug.dump());
    await store.hostStorage.close();
  }
  t.deepEqual(expected.ours, expected.ref);
  const bundleList = await bundles();
  const later = makeWorkload(11, { blocks: 3, cranks: 4 }).map(op => (op.vatID ? { ...op, vatID: `n${op.vatID}` } : op));
  for (const from of SIDES) {
    const pair = {};
    for (const side of SIDES) {
      const batches = [];
      const store = IMPLS[side].initSwingStore(null, { serialized: images[from], exportCallback: rows => batches.push(rows.map(([k, v]) => [k, v])) });
      t.deepEqual(comparableDump(store.debug.dump()), expected.ref, `${from}'s image loaded by ${side}`);
      pair[side] = { store, batches };
    }
    t.is(await runLockstep(pair, later, bundleList), undefined, `cranks on ${from}'s image`);
    t.deepEqual(comparableDump(pair.ours.store.debug.dump()), comparableDump(pair.ref.store.debug.dump()));
    await closePair(pair);
  }
});

test("serialize() of an on-disk store, and serialized with a path or not a Buffer, fail as swing-store's do", async t => {
  const pair = openPair('serialize');
  const serialize = await Promise.all(SIDES.map(side => attempt(() => pair[side].store.debug.serialize())));
  t.deepEqual(outcomeProblems(...serialize), [], show(serialize));
  await closePair(pair);
  for (const [dir, serialized] of [[makeTempDir('serialized-path'), Buffer.alloc(0)], [null, 'not a buffer'], [null, new Uint8Array(4)]]) {
    const outcomes = await Promise.all(SIDES.map(side => attempt(() => IMPLS[side].initSwingStore(dir, { serialized }))));
    t.deepEqual(outcomeProblems(...outcomes), [], show(outcomes));
  }
});

// ---------------------------------------------------------------------- debug.dump() ---

/** A dump as JSON text (keys in order, undefined dropped), snapshot gzip bytes as their contents' hash. */
const dumpText = dump =>
  JSON.stringify(dump, function replace(key, value) {
    // `this[key]`: the Buffer itself, where `value` is already its toJSON() form.
    const original = this[key];
    if (key === 'compressedSnapshot' && Buffer.isBuffer(original)) return `gzip of ${sha256(zlib.gunzipSync(original))}`;
    return value;
  });

for (const includeHistorical of [true, false]) {
  test(`debug.dump(${includeHistorical}) has swing-store's full shape: its keys, their order, their values (snapshot gzip bytes aside)`, async t => {
    const texts = {};
    for (const side of SIDES) {
      const store = await storeAfterWorkload(side, 12, { keepSnapshots: true });
      texts[side] = dumpText(store.debug.dump(includeHistorical));
      await store.hostStorage.close();
    }
    t.true(texts.ref.includes('"compressedSnapshot":"gzip of'), 'no snapshot in the dump');
    t.is(texts.ours, texts.ref);
  });
}

test("a pruned snapshot's compressedSnapshot is null in debug.dump(), as in swing-store", async t => {
  const dumps = {};
  for (const side of SIDES) {
    const store = IMPLS[side].initSwingStore(null);
    await store.kernelStorage.snapStore.saveSnapshot('v1', 1, [Buffer.from('first')]);
    await store.kernelStorage.snapStore.saveSnapshot('v1', 2, [Buffer.from('second')]);
    dumps[side] = store.debug.dump().snapshots.v1.map(({ compressedSnapshot, ...rest }) => ({ ...rest, compressedSnapshot: compressedSnapshot && 'gzip' }));
    await store.hostStorage.close();
  }
  t.is(dumps.ref[0].compressedSnapshot, null);
  t.deepEqual(dumps.ours, dumps.ref);
});

// ---------------------------------------------------------------- internal's stores ---

/** A store of each implementation after the same workload, left open for the listings. */
const storesForListings = memoize(async () => {
  const stores = {};
  for (const side of SIDES) stores[side] = await storeAfterWorkload(side, 13);
  closers.push(async () => {
    for (const store of Object.values(stores)) await store.hostStorage.close();
  });
  return stores;
});

const LISTINGS = {
  // Without compressedSize: the gzip encoder's, not the store's.
  'snapStore.listAllSnapshots()': ({ internal }) => [...internal.snapStore.listAllSnapshots()].map(({ compressedSize: _, ...row }) => row),
  'bundleStore.getBundleIDs()': ({ internal }) => [...internal.bundleStore.getBundleIDs()],
  'snapStore.getExportRecords(false)': ({ internal }) => [...internal.snapStore.getExportRecords(false)],
  'transcriptStore.getExportRecords(false)': ({ internal }) => [...internal.transcriptStore.getExportRecords(false)],
  'bundleStore.getExportRecords()': ({ internal }) => [...internal.bundleStore.getExportRecords()],
  'transcriptStore.readFullVatTranscript(vatID)': ({ internal, debug }) =>
    Object.keys(debug.dump().transcripts).map(vatID => [...internal.transcriptStore.readFullVatTranscript(vatID)]),
};

for (const [name, call] of Object.entries(LISTINGS)) {
  test(`internal.${name} gives swing-store's rows, in its shapes`, async t => {
    const stores = await storesForListings();
    const ref = await attempt(() => call(stores.ref));
    const mine = await attempt(() => call(stores.ours));
    t.true(ref.ok && ref.value.length > 0, `nothing to compare: ${show(ref)}`);
    t.deepEqual(outcomeProblems(ref, mine), [], `${show(ref).slice(0, 400)} vs ${show(mine).slice(0, 400)}`);
    if (ref.ok && mine.ok) t.is(JSON.stringify(mine.value), JSON.stringify(ref.value), "the rows' keys are in another order");
  });
}

// ------------------------------------------------------------------------ internal.db ---

/** An on-disk pair of stores after the same workload, left open for internal.db's queries. */
const openStoresForQueries = memoize(async () => {
  const bundleList = await bundles();
  const pair = openPair('queries', { keepSnapshots: true });
  const divergence = await runLockstep(pair, makeWorkload(14, { blocks: 8, cranks: 5, bundleCount: bundleList.length }), bundleList);
  closers.push(() => closePair(pair));
  if (divergence) throw Error(`the stores diverged: ${show(divergence)}`);
  return pair;
});

const QUERIES = [
  ['SELECT * FROM kvStore ORDER BY key', st => st.all()],
  ['SELECT key, value FROM kvStore WHERE key > ? ORDER BY key LIMIT 3', st => st.all('k')],
  ['SELECT key FROM kvStore WHERE key >= ? AND key < ? ORDER BY key', st => st.pluck().all('k', 'l')],
  ['SELECT count(*) FROM transcriptItems', st => st.pluck().get()],
  ['SELECT count(*) AS n, max(position) AS last FROM transcriptItems', st => st.get()],
  ['SELECT * FROM transcriptSpans ORDER BY vatID, startPos', st => [...st.iterate()]],
  ['SELECT vatID, snapPos, hash, inUse, uncompressedSize FROM snapshots ORDER BY vatID, snapPos', st => st.raw().all()],
  ['SELECT vatID, snapPos FROM snapshots WHERE inUse IS NULL ORDER BY vatID, snapPos', st => st.raw().get()],
  ['SELECT bundleID, bundle FROM bundles ORDER BY bundleID', st => st.all()],
  ['SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name', st => st.all()],
  ['SELECT * FROM kvStore WHERE key = $key', st => st.get({ key: 'host.height' })],
  ['SELECT * FROM kvStore WHERE key = @key', st => st.get({ key: 'host.height' })],
  ['SELECT * FROM kvStore WHERE key = :key', st => st.all({ key: 'activityhash' })],
  ['SELECT * FROM kvStore WHERE key = ?', st => st.get('no such key')],
  ['SELECT * FROM kvStore WHERE key IN (?, ?) ORDER BY key', st => st.all(['host.height', 'activityhash'])],
  ["SELECT 1.5 AS f, NULL AS n, x'00ff' AS b, 9007199254740993 AS big, 'é' AS s", st => st.get()],
  ['SELECT key FROM kvStore ORDER BY key', st => st.pluck().pluck(false).raw().get()],
  // cosmic-swingset's tools/inquisitor.mjs (makeHelpers over internal.db): named
  // parameters, some null, GLOB filters, and json_each joined to the kvStore.
  [
    `SELECT key, value FROM kvStore WHERE key >= :a AND key < :b AND ${[
      '(:keySuffix IS NULL OR substr(key, -length(:keySuffix)) = :keySuffix)',
      '(:keyGlob IS NULL OR key GLOB :keyGlob)',
      '(:valueGlob IS NULL OR value GLOB :valueGlob)',
    ].join(' AND ')}`,
    st => [...st.iterate({ a: 'k', b: 'l', keySuffix: null, keyGlob: 'k*', valueGlob: null })],
  ],
  [
    'SELECT kvStore.key, json.key AS i, json.value AS item FROM kvStore, json_each(json_array(kvStore.key, length(kvStore.value))) AS json ORDER BY kvStore.key, json.key',
    st => [...st.iterate()],
  ],
];

for (const [sql, read] of QUERIES) {
  test(`internal.db gives better-sqlite3's answer: ${sql}`, async t => {
    const pair = await openStoresForQueries();
    const ref = await attempt(() => read(pair.ref.store.internal.db.prepare(sql)));
    const mine = await attempt(() => read(pair.ours.store.internal.db.prepare(sql)));
    t.deepEqual(outcomeProblems(ref, mine), [], `${show(ref).slice(0, 400)} vs ${show(mine).slice(0, 400)}`);
  });
}

const PRAGMAS = [
  ['journal_mode'],
  ['journal_mode', { simple: true }],
  ['synchronous', { simple: true }],
  ['table_info(kvStore)'],
  ['index_list(transcriptSpans)'],
  ['user_version', { simple: true }],
  ['page_size', { simple: true }],
  ['foreign_keys', { simple: true }],
];

for (const args of PRAGMAS) {
  test(`internal.db.pragma gives better-sqlite3's answer: ${show(args)}`, async t => {
    const pair = await openStoresForQueries();
    const ref = await attempt(() => pair.ref.store.internal.db.pragma(...args));
    const mine = await attempt(() => pair.ours.store.internal.db.pragma(...args));
    t.deepEqual(outcomeProblems(ref, mine), [], `${show(ref)} vs ${show(mine)}`);
  });
}

test("a query that fails fails with better-sqlite3's message", async t => {
  const pair = await openStoresForQueries();
  for (const sql of ['SELECT * FROM nosuch', 'SELEC 1', 'SELECT nosuch FROM kvStore']) {
    const ref = await attempt(() => pair.ref.store.internal.db.prepare(sql).all());
    const mine = await attempt(() => pair.ours.store.internal.db.prepare(sql).all());
    t.deepEqual(outcomeProblems(ref, mine), [], `${sql}: ${show(ref)} vs ${show(mine)}`);
  }
});

test('internal.db refuses what would write, with ERR_READONLY_QUERY, and the store is unchanged', async t => {
  // Deliberately different: swing-store hands out its better-sqlite3 handle, writable. Ours
  // is a read-only view of the store's own connection; the store writes only through its own
  // calls, inside its own transaction (lib/database.cjs).
  const pair = await openStoresForQueries();
  const { db } = pair.ours.store.internal;
  const before = comparableDump(pair.ours.store.debug.dump());
  const writes = [
    () => db.prepare("DELETE FROM kvStore WHERE key = 'host.height'").run(),
    () => db.prepare("DELETE FROM kvStore WHERE key = 'host.height'").all(),
    () => db.prepare("INSERT INTO kvStore VALUES ('x', 'y') RETURNING key").get(),
    () => db.exec("UPDATE kvStore SET value = 'x'"),
    () => db.pragma('journal_mode = delete'),
    () => db.pragma('user_version = 7'),
    () => db.transaction(() => {})(),
  ];
  for (const write of writes) {
    const outcome = await attempt(write);
    t.false(outcome.ok, write.toString());
    t.is(outcome.code, 'ERR_READONLY_QUERY', write.toString());
  }
  t.deepEqual(comparableDump(pair.ours.store.debug.dump()), before);
});
