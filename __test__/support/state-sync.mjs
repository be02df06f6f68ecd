// What the state-sync differential specs share: both implementations side by side, seeded
// random workloads of kernel-like cranks (kvStore, transcripts, snapshots, bundles,
// savepoints and rollbacks, commits), a lockstep driver that runs a workload through both and
// reports the first divergence, and readers that turn an exporter or a store into plain data
// to compare. Importers must import '@endo/init/debug.js' first.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { isDeepStrictEqual } from 'node:util';
import bundleSource from '@endo/bundle-source';
import * as swingStore from '@agoric/swing-store';
import * as ours from '../../lib/index.mjs';

import { mulberry32 } from './prng.mjs';
import { makeTempDir } from '../kernel-helpers.mjs';

/** The reference and the subject, each as its package entry. */
export const IMPLS = { ref: swingStore, ours };
export const SIDES = ['ref', 'ours'];
export const ARTIFACT_MODES = ['operational', 'replay', 'archival', 'debug'];

// -------------------------------------------------------------------------- outcomes ---

/** Runs `f` (sync or async), capturing its value or its error's message and code. */
export const attempt = async f => {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, message: error?.message, code: error?.code, isError: error instanceof Error };
  }
};

/** A printable rendering, with `undefined` and Buffers visible. */
export const show = x =>
  JSON.stringify(x, (_k, v) => {
    if (v === undefined) return '<undefined>';
    if (v?.type === 'Buffer' && Array.isArray(v.data)) return `<Buffer ${v.data.length} bytes>`;
    return v;
  });

/**
 * What is wrong with our outcome given swing-store's for the same call: one threw and the
 * other did not, different values or messages, or our error lacks its code.
 */
export const outcomeProblems = (ref, mine) => {
  const problems = [];
  if (ref.ok !== mine.ok) problems.push(`swing-store ${ref.ok ? 'returned' : 'threw'}, ours ${mine.ok ? 'returned' : 'threw'}`);
  else if (ref.ok && !isDeepStrictEqual(ref.value, mine.value)) problems.push('the results differ');
  else if (!ref.ok && ref.message !== mine.message) problems.push('the error messages differ');
  if (!mine.ok && (typeof mine.code !== 'string' || !mine.isError)) problems.push('our error is not an Error with a string code');
  return problems;
};

// --------------------------------------------------------------------------- bundles ---

const sha256 = data => crypto.createHash('sha256').update(data).digest('hex');

/** A `nestedEvaluate` bundle and its b0 ID (the SHA-256 of its JSON text). */
const makeB0Bundle = n => {
  const bundle = { moduleFormat: 'nestedEvaluate', source: `function getExport() { return { n: ${n} }; }`, sourceMap: `//# b0 ${n}` };
  return [`b0-${sha256(JSON.stringify(bundle))}`, bundle];
};

/**
 * `count` b0 bundles and `count` b1 bundles (made by @endo/bundle-source from small modules
 * written for the purpose), as `[bundleID, bundle]` pairs, b0 and b1 alternating.
 */
export const makeBundles = async count => {
  const dir = makeTempDir('bundle-src');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'state-sync-bundles', type: 'module' }));
  const bundles = [];
  for (let n = 0; n < count; n += 1) {
    const file = path.join(dir, `module-${n}.js`);
    fs.writeFileSync(file, `export const n = ${n};\nexport const text = ${JSON.stringify('x'.repeat(n * 50))};\n`);
    const b1 = await bundleSource(file);
    bundles.push(makeB0Bundle(n), [`b1-${b1.endoZipBase64Sha512}`, b1]);
  }
  return bundles;
};

// ------------------------------------------------------------------------- workloads ---

/** Deterministic bytes of a given length, as a snapshot's contents. */
const snapshotBytes = (seed, size) => {
  const rand = mulberry32(seed);
  const bytes = Buffer.alloc(size);
  // Runs of repeated bytes, so the data compresses as heap snapshots do.
  for (let i = 0; i < size; ) {
    const run = 1 + Math.floor(rand() * 40);
    bytes.fill(Math.floor(rand() * 256), i, Math.min(size, i + run));
    i += run;
  }
  return bytes;
};

/** A stream of `bytes` in uneven chunks, as the kernel hands saveSnapshot an xsnap stream. */
async function* chunksOf(bytes, seed) {
  const rand = mulberry32(seed ^ 0x5bd1e995);
  for (let i = 0; i < bytes.length; ) {
    const size = 1 + Math.floor(rand() * 20_000);
    yield bytes.subarray(i, i + size);
    i += size;
  }
}

const TEXT_PIECES = ['a', 'Z', '0', '.', ' ', 'é', '中', '😀', '"', '\\', '{', '}'];

const randomText = (rand, max) => {
  let s = '';
  const length = Math.floor(rand() * max);
  for (let i = 0; i < length; i += 1) s += TEXT_PIECES[Math.floor(rand() * TEXT_PIECES.length)];
  return s;
};

/**
 * The vats' state as the generator tracks it, to draw only calls the kernel could make:
 * `spans` and `snapshots` count each vat's rows, `spanItems` its current span's items.
 */
const newModel = () => ({ vats: {}, nextVat: 1, bundles: [] });
const cloneModel = model => structuredClone(model);

const pick = (rand, list) => list[Math.floor(rand() * list.length)];

/** The calls one crank step may make in `model`'s state, each with its weight and effect. */
const candidateOps = (rand, model, bundleCount) => {
  const vats = Object.entries(model.vats);
  const live = vats.filter(([, v]) => v.status === 'live');
  const stopped = vats.filter(([, v]) => v.status === 'stopped');
  const key = () => (rand() < 0.5 ? `k${Math.floor(rand() * 12)}` : `${pick(rand, ['v1', 'v2', 'ko'])}.c.${Math.floor(rand() * 6)}`);
  const ops = [
    [6, () => ({ type: 'set', key: key(), value: randomText(rand, 30) })],
    [3, () => ({ type: 'delete', key: key() })],
    [1, () => ({ type: 'set', key: `local.${Math.floor(rand() * 3)}`, value: randomText(rand, 8) })],
  ];
  if (model.nextVat <= 6) {
    ops.push([2, () => {
      const vatID = `v${model.nextVat}`;
      model.nextVat += 1;
      model.vats[vatID] = { status: 'live', spanItems: 0, spans: 1, snapshots: 0, lastSnapPos: -1, endPos: 0 };
      return { type: 'initTranscript', vatID };
    }]);
  }
  for (const [vatID, vat] of live) {
    ops.push([6, () => {
      vat.spanItems += 1;
      vat.endPos += 1;
      return { type: 'addItem', vatID, item: `["deliver",${vat.endPos},${JSON.stringify(randomText(rand, 20))}]` };
    }]);
    ops.push([1, () => ({ type: 'bounds', vatID })]);
    ops.push([1, () => ({ type: 'snapshotInfo', vatID })]);
    if (vat.spanItems > 0) {
      ops.push([1, () => {
        vat.spanItems = 0;
        vat.spans += 1;
        return { type: pick(rand, ['rolloverSpan', 'rolloverIncarnation']), vatID };
      }]);
    }
    if (vat.endPos > vat.lastSnapPos) {
      ops.push([2, () => {
        // The kernel's snapshot cycle: save, note it, roll over, load.
        vat.lastSnapPos = vat.endPos;
        vat.snapshots += 1;
        vat.spans += 1;
        vat.endPos += 2;
        vat.spanItems = 1;
        const size = rand() < 0.1 ? 70_000 + Math.floor(rand() * 60_000) : 1 + Math.floor(rand() * 6000);
        return { type: 'snapshotCycle', vatID, snapPos: vat.lastSnapPos, size, seed: Math.floor(rand() * 2 ** 31) };
      }]);
    }
    ops.push([0.5, () => {
      vat.status = 'stopped';
      return { type: 'terminate', vatID };
    }]);
  }
  for (const [vatID, vat] of stopped) {
    ops.push([2, () => {
      const budget = rand() < 0.3 ? undefined : 1 + Math.floor(rand() * 2);
      const store = vat.spans > 0 && (vat.snapshots === 0 || rand() < 0.5) ? 'spans' : 'snapshots';
      vat[store] = budget === undefined ? 0 : Math.max(0, vat[store] - budget);
      if (vat.spans === 0 && vat.snapshots === 0) vat.status = 'gone';
      return { type: store === 'spans' ? 'deleteVatTranscripts' : 'deleteVatSnapshots', vatID, budget };
    }]);
  }
  const absent = [...Array(bundleCount).keys()].filter(i => !model.bundles.includes(i));
  if (absent.length > 0) {
    ops.push([1.5, () => {
      const index = pick(rand, absent);
      model.bundles.push(index);
      return { type: 'addBundle', index };
    }]);
  }
  if (model.bundles.length > 0) {
    ops.push([0.5, () => {
      const index = pick(rand, model.bundles);
      model.bundles = model.bundles.filter(i => i !== index);
      return { type: 'deleteBundle', index };
    }]);
  }
  return ops;
};

const drawOp = (rand, model, bundleCount) => {
  const ops = candidateOps(rand, model, bundleCount);
  let r = rand() * ops.reduce((sum, [w]) => sum + w, 0);
  for (const [weight, make] of ops) {
    r -= weight;
    if (r < 0) return make();
  }
  return ops[0][1]();
};

/**
 * A seeded workload: `blocks` blocks of up to `cranks` cranks, each crank a few calls, some
 * under a savepoint that is then rolled back (the model forgets their effects), each block
 * ending with a host write and a commit. A flat list of ops for `applyOp`.
 */
export const makeWorkload = (seed, { blocks = 6, cranks = 5, bundleCount = 0 } = {}) => {
  const rand = mulberry32(seed);
  let model = newModel();
  const ops = [];
  for (let block = 0; block < blocks; block += 1) {
    const crankCount = 1 + Math.floor(rand() * cranks);
    for (let crank = 0; crank < crankCount; crank += 1) {
      ops.push({ type: 'startCrank' });
      let saved;
      const steps = 1 + Math.floor(rand() * 6);
      const savepointAt = rand() < 0.35 ? Math.floor(rand() * steps) : -1;
      for (let step = 0; step < steps; step += 1) {
        if (step === savepointAt) {
          saved = cloneModel(model);
          ops.push({ type: 'savepoint', name: `sp${crank}` });
        }
        ops.push(drawOp(rand, model, bundleCount));
      }
      if (saved && rand() < 0.5) {
        ops.push({ type: 'rollback', name: `sp${crank}` });
        model = saved;
      }
      if (rand() < 0.9) ops.push({ type: 'emit' });
      ops.push({ type: 'endCrank' });
    }
    ops.push({ type: 'hostSet', key: 'host.height', value: String(block + 1) });
    ops.push({ type: 'commit' });
  }
  return ops;
};

/** `getSnapshotInfo` without the compressed size (gzip bytes are not consensus, see below). */
const snapshotInfoOf = info => info && { snapPos: info.snapPos, hash: info.hash, uncompressedSize: info.uncompressedSize };

/**
 * Applies one op to a swing-store-shaped store `{ kernelStorage, hostStorage }`, returning
 * what the call returned, reduced to what both implementations must agree on: a snapshot's
 * compressed size and timings depend on the gzip encoder and the clock, not the store.
 */
export const applyOp = async ({ kernelStorage: ks, hostStorage: hs }, op, bundles) => {
  const { transcriptStore: ts, snapStore: ss, bundleStore: bs } = ks;
  switch (op.type) {
    case 'startCrank': return ks.startCrank();
    case 'savepoint': return ks.establishCrankSavepoint(op.name);
    case 'rollback': return ks.rollbackCrank(op.name);
    case 'emit': {
      const { crankhash, activityhash } = ks.emitCrankHashes();
      return { crankhash, activityhash };
    }
    case 'endCrank': return ks.endCrank();
    case 'commit': return hs.commit();
    case 'set': return ks.kvStore.set(op.key, op.value);
    case 'delete': return ks.kvStore.delete(op.key);
    case 'hostSet': return hs.kvStore.set(op.key, op.value);
    case 'initTranscript': return ts.initTranscript(op.vatID);
    case 'addItem': return ts.addItem(op.vatID, op.item);
    case 'bounds': return { ...ts.getCurrentSpanBounds(op.vatID) };
    case 'rolloverSpan': return ts.rolloverSpan(op.vatID);
    case 'rolloverIncarnation': return ts.rolloverIncarnation(op.vatID);
    case 'snapshotCycle': {
      const bytes = snapshotBytes(op.seed, op.size);
      const { hash, uncompressedSize } = await ss.saveSnapshot(op.vatID, op.snapPos, chunksOf(bytes, op.seed));
      ts.addItem(op.vatID, '["save-snapshot"]');
      await ts.rolloverSpan(op.vatID);
      ts.addItem(op.vatID, `["load-snapshot",${JSON.stringify(hash)}]`);
      return { hash, uncompressedSize };
    }
    case 'snapshotInfo': return snapshotInfoOf(ss.getSnapshotInfo(op.vatID));
    case 'terminate':
      ss.stopUsingLastSnapshot(op.vatID);
      return ts.stopUsingTranscript(op.vatID);
    case 'deleteVatTranscripts': {
      const { done, cleanups } = op.budget === undefined ? ts.deleteVatTranscripts(op.vatID) : ts.deleteVatTranscripts(op.vatID, op.budget);
      return { done, cleanups };
    }
    case 'deleteVatSnapshots': {
      const { done, cleanups } = op.budget === undefined ? ss.deleteVatSnapshots(op.vatID) : ss.deleteVatSnapshots(op.vatID, op.budget);
      return { done, cleanups };
    }
    case 'addBundle': return bs.addBundle(...bundles[op.index]);
    case 'deleteBundle': return bs.deleteBundle(bundles[op.index][0]);
    default: throw Error(`unknown op ${op.type}`);
  }
};

// --------------------------------------------------------------------------- stores ---

/**
 * A store of each implementation (on disk unless `dir` is null), each with an export log:
 * `batches` holds what every exportCallback call delivered, in order.
 */
export const openPair = (label, options = {}) => {
  const pair = {};
  for (const side of SIDES) {
    const dir = makeTempDir(`${label}-${side}`);
    const batches = [];
    const store = IMPLS[side].initSwingStore(dir, {
      ...options,
      exportCallback: rows => batches.push(rows.map(([key, value]) => [key, value])),
    });
    pair[side] = { dir, store, batches };
  }
  return pair;
};

export const closePair = async pair => {
  for (const side of SIDES) await pair[side].store.hostStorage.close();
};

/**
 * Runs `ops` through both stores in lockstep, comparing every call's outcome and the export
 * rows delivered so far after it. Returns the first divergence (with the ops leading up to
 * it), or undefined.
 */
export const runLockstep = async (pair, ops, bundles) => {
  for (const [index, op] of ops.entries()) {
    const ref = await attempt(() => applyOp(pair.ref.store, op, bundles));
    const mine = await attempt(() => applyOp(pair.ours.store, op, bundles));
    const problems = outcomeProblems(ref, mine);
    if (!isDeepStrictEqual(pair.ref.batches, pair.ours.batches)) problems.push('the exportCallback batches differ');
    if (!ref.ok) problems.push('swing-store threw: the workload generator made an invalid call');
    if (problems.length > 0) {
      return {
        index,
        op: show(op),
        problems,
        ref: show(ref),
        ours: show(mine),
        recentOps: ops.slice(Math.max(0, index - 12), index).map(show),
        lastBatches: { ref: show(pair.ref.batches.at(-1)), ours: show(pair.ours.batches.at(-1)) },
      };
    }
  }
  return undefined;
};

/** Export rows applied in order to a map: the last value wins, a null deletes. */
export const accumulate = batches => {
  const map = new Map();
  for (const rows of batches) {
    for (const [key, value] of rows) {
      if (value == null) map.delete(key);
      else map.set(key, value);
    }
  }
  return map;
};

// ------------------------------------------------------------------------ exporters ---

/** Every chunk of an artifact (any iterable), concatenated. */
export const readAll = async chunks => {
  const parts = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
};

/**
 * The export data, artifact names and each artifact's bytes of an exporter, then closed.
 * `afterFirstRow`, when given, is awaited between the first row of export data and the rest.
 */
export const readExport = async (exporter, { artifacts = true, afterFirstRow } = {}) => {
  try {
    const data = [];
    for await (const [key, value] of exporter.getExportData()) {
      data.push([key, value]);
      if (data.length === 1 && afterFirstRow) await afterFirstRow();
    }
    const names = [];
    const bytes = {};
    if (artifacts) {
      for await (const name of exporter.getArtifactNames()) names.push(name);
      for (const name of names) bytes[name] = await readAll(exporter.getArtifact(name));
    }
    return { data, names, bytes };
  } finally {
    await exporter.close();
  }
};

/** Opens an exporter of implementation `side` on `dir` and reads everything from it. */
export const exportOf = (side, dir, artifactMode, options) =>
  readExport(IMPLS[side].makeSwingStoreExporter(dir, { artifactMode }), options);

/** Where two exports differ, briefly: an empty list when they are identical. */
export const exportDiff = (a, b) => {
  const problems = [];
  if (!isDeepStrictEqual(a.data, b.data)) {
    const at = a.data.findIndex((row, i) => !isDeepStrictEqual(row, b.data[i]));
    problems.push(`export data differs from row ${at}: ${show(a.data[at])} vs ${show(b.data[at])} (${a.data.length} vs ${b.data.length} rows)`);
  }
  if (!isDeepStrictEqual(a.names, b.names)) problems.push(`artifact names differ: ${show(a.names)} vs ${show(b.names)}`);
  for (const name of a.names) {
    if (b.bytes[name] && !a.bytes[name].equals(b.bytes[name])) problems.push(`artifact ${name} bytes differ`);
  }
  return problems;
};

// --------------------------------------------------------------------------- dumps ---

/**
 * `debug.dump()` without the snapshots' gzip bytes: the compressed encoding is the zlib
 * build's and not part of any hash, so swing-store and ours may compress the same snapshot
 * differently. The snapshots' gunzipped contents are kept, to compare instead.
 */
export const comparableDump = dump => ({
  kvEntries: { ...dump.kvEntries },
  transcripts: dump.transcripts,
  bundles: dump.bundles,
  snapshots: Object.fromEntries(
    Object.entries(dump.snapshots).map(([vatID, rows]) => [
      vatID,
      rows.map(({ snapPos, hash, inUse, compressedSnapshot }) => ({
        snapPos,
        hash,
        inUse,
        contents: compressedSnapshot ? sha256(zlib.gunzipSync(compressedSnapshot)) : null,
      })),
    ]),
  ),
});

/** What a store on disk holds, as implementation `side` opens it: its dump and activityhash. */
export const observeStore = async (side, dir) => {
  const store = IMPLS[side].openSwingStore(dir);
  try {
    return { dump: comparableDump(store.debug.dump()), activityhash: store.kernelStorage.getActivityhash() };
  } finally {
    await store.hostStorage.close();
  }
};

/** Imports with implementation `side` into a new directory, commits and closes; the directory. */
export const importInto = async (side, exporter, options = {}) => {
  const dir = makeTempDir(`import-${side}`);
  const { hostStorage } = await IMPLS[side].importSwingStore(exporter, dir, options);
  await hostStorage.commit();
  await hostStorage.close();
  return dir;
};

/** `fn` run once per argument (compared by identity), its result kept. */
export const memoize = fn => {
  const results = new Map();
  return key => {
    if (!results.has(key)) results.set(key, fn(key));
    return results.get(key);
  };
};

/**
 * A workload case `{ seed, options }` run through a new pair of stores in lockstep, the stores
 * then closed: its ops, the pair, and the first divergence (undefined when there is none).
 */
const buildWorkloadPair = async ({ seed, options }, bundleList, workload) => {
  const ops = makeWorkload(seed, { ...workload, bundleCount: bundleList.length });
  const pair = openPair(`workload-${seed}`, options);
  const divergence = await runLockstep(pair, ops, bundleList);
  await closePair(pair);
  return { ops, pair, divergence };
};

/** swing-store's store options that decide what it keeps of old spans and snapshots. */
const KEEP_OPTIONS = [{}, { keepTranscripts: false }, { keepSnapshots: true }, { keepTranscripts: false, keepSnapshots: true }];

/** `perOption` workload cases for each of KEEP_OPTIONS, seeded from `firstSeed` up, each labelled. */
export const workloadCases = (firstSeed, perOption) =>
  KEEP_OPTIONS.flatMap((options, i) =>
    Array.from({ length: perOption }, (_, k) => {
      const seed = firstSeed + i * perOption + k;
      return { options, seed, label: `${show(options)}, seed ${seed}` };
    }),
  );

/**
 * `bundles()`, two b0 and two b1 bundles made once, and `buildCase(c)`, each case's pair of
 * stores after its workload (of the given size) ran through both in lockstep, built once.
 */
export const makeCaseBuilder = workload => {
  const bundles = memoize(() => makeBundles(2));
  return { bundles, buildCase: memoize(async c => buildWorkloadPair(c, await bundles(), workload)) };
};
