// State-sync export, differentially: the same seeded workloads of kernel-like cranks
// (kvStore writes, transcripts, snapshots, b0 and b1 bundles, savepoints and rollbacks,
// commits) run through @agoric/swing-store 0.10.0 and through this package in lockstep. The
// export data a chain node stores (the exportCallback rows), the export data and artifacts
// of an exporter in each artifact mode, and the exporter's errors must be the same, byte for
// byte. Then an exporter beside a writer that keeps committing: in this process and in another.
import '@endo/init/debug.js';
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import {
  IMPLS, SIDES, ARTIFACT_MODES, attempt, outcomeProblems, show, applyOp, workloadCases,
  makeCaseBuilder, accumulate, readAll, readExport, exportOf, exportDiff,
} from './support/state-sync.mjs';
import { runWatched } from './support/child-process.mjs';
import { makeTempDir, removeTempDirs } from './kernel-helpers.mjs';

const EXPORT_CHILD = fileURLToPath(new URL('./fixtures/state-sync/export-child.mjs', import.meta.url));

const CASES = workloadCases(11, 2);
const { bundles, buildCase } = makeCaseBuilder({ blocks: 10, cranks: 5 });

test.after.always(removeTempDirs);

// ------------------------------------------------------------------ export data ---

for (const c of CASES) {
  test(`every call's exportCallback rows are swing-store's (${c.label})`, async t => {
    const { divergence } = await buildCase(c);
    t.is(divergence, undefined, `the first divergence:\n${JSON.stringify(divergence, null, 2)}`);
  });

  test(`the exportCallback rows, applied in order, are getExportData() of an exporter on each store, and both exporters agree (${c.label})`, async t => {
    const { pair } = await buildCase(c);
    const exports = {};
    for (const side of SIDES) {
      exports[side] = await exportOf(side, pair[side].dir, 'operational', { artifacts: false });
      const { data } = exports[side];
      t.is(new Set(data.map(([key]) => key)).size, data.length, `${side}: a key is exported twice`);
      const byKey = rows => [...rows].sort(([a], [b]) => (a < b ? -1 : 1));
      t.deepEqual(byKey(data), byKey(accumulate(pair[side].batches)), `${side}: the accumulated rows differ from the export data`);
    }
    t.deepEqual(exportDiff(exports.ref, exports.ours), []);
  });

  test(`every artifact mode gives swing-store's artifact names, in its order, with its bytes, or its completeness error (${c.label})`, async t => {
    const { pair } = await buildCase(c);
    for (const artifactMode of ARTIFACT_MODES) {
      const ref = await attempt(() => exportOf('ref', pair.ref.dir, artifactMode));
      const mine = await attempt(() => exportOf('ours', pair.ours.dir, artifactMode));
      t.deepEqual(outcomeProblems(ref, mine), [], `${artifactMode}: ${show(ref).slice(0, 300)} vs ${show(mine).slice(0, 300)}`);
      if (ref.ok && mine.ok) t.deepEqual(exportDiff(ref.value, mine.value), [], artifactMode);
    }
  });
}

test('the workloads make every kind of call, and some of their stores cannot be exported in every mode', async t => {
  const counts = {};
  let incomplete = 0;
  for (const c of CASES) {
    const { ops, pair } = await buildCase(c);
    for (const op of ops) counts[op.type] = (counts[op.type] ?? 0) + 1;
    for (const artifactMode of ['replay', 'archival']) {
      if (!(await attempt(() => exportOf('ours', pair.ours.dir, artifactMode))).ok) incomplete += 1;
    }
  }
  const kinds = ['set', 'delete', 'hostSet', 'initTranscript', 'addItem', 'bounds', 'rolloverSpan', 'rolloverIncarnation',
    'snapshotCycle', 'snapshotInfo', 'terminate', 'deleteVatTranscripts', 'deleteVatSnapshots', 'addBundle', 'deleteBundle',
    'savepoint', 'rollback', 'emit', 'commit'];
  t.deepEqual(kinds.filter(kind => !counts[kind]), [], `calls made: ${show(counts)}`);
  t.true(incomplete > 0, 'no store was incomplete for replay or archival, so no completeness error was compared');
});

// ------------------------------------------------------------------ single calls ---

/** A store whose spans were pruned (keepTranscripts: false) and whose vats were deleted. */
const PRUNED = CASES.find(c => c.options.keepTranscripts === false);

test("getArtifact of names a store does not hold fails as swing-store's does: at the same step, with the same message", async t => {
  const { pair } = await buildCase(PRUNED);
  const [b0] = (await bundles())[0];
  // The artifacts the store has records of but no longer holds: pruned spans and snapshots.
  const { data, names: held } = await exportOf('ref', pair.ref.dir, 'debug');
  const recorded = data.flatMap(([key, value]) => {
    if (/^transcript\.[^.]+\.\d+$/.test(key)) {
      const { vatID, startPos, endPos } = JSON.parse(value);
      return [`transcript.${vatID}.${startPos}.${endPos}`];
    }
    return /^snapshot\.[^.]+\.\d+$/.test(key) ? [key] : [];
  });
  const pruned = recorded.filter(name => !held.includes(name));
  t.true(pruned.some(name => name.startsWith('transcript.')) && pruned.some(name => name.startsWith('snapshot.')), show(pruned));
  const names = [...pruned, 'snapshot.v1.999', 'snapshot.v1', 'snapshot.v1.x', 'snapshot.v1.2.1', 'snapshot', 'transcript.v1.0.1',
    'transcript.v1.0', 'transcript.v9.0.1', 'transcript', 'bundle.b1-abc', 'bundle.x.y', 'bundle', `bundle.${b0}x`,
    'foo.bar', '', 42, undefined];
  const stepOf = async (side, name) => {
    const exporter = IMPLS[side].makeSwingStoreExporter(pair[side].dir, { artifactMode: 'debug' });
    let step = 'the call';
    const outcome = await attempt(async () => {
      const chunks = exporter.getArtifact(name);
      step = 'the first step';
      return (await readAll(chunks)).length;
    });
    await exporter.close();
    return { ...outcome, step: outcome.ok ? undefined : step };
  };
  for (const name of names) {
    const ref = await stepOf('ref', name);
    const mine = await stepOf('ours', name);
    t.deepEqual(outcomeProblems(ref, mine), [], `${show(name)}: ${show(ref)} vs ${show(mine)}`);
    t.is(mine.step, ref.step, `${show(name)} fails at ${ref.step} in swing-store`);
  }
});

test("getHostKV answers and refuses as swing-store's does", async t => {
  const { pair } = await buildCase(PRUNED);
  for (const key of ['host.height', 'host.absent', 'k1', 'local.0', 'activityhash', 42]) {
    const outcomes = {};
    for (const side of SIDES) {
      const exporter = IMPLS[side].makeSwingStoreExporter(pair[side].dir);
      outcomes[side] = await attempt(() => exporter.getHostKV(key));
      await exporter.close();
    }
    t.deepEqual(outcomeProblems(outcomes.ref, outcomes.ours), [], `${show(key)}: ${show(outcomes)}`);
  }
});

test("an unknown artifactMode is refused when the exporter is made: a string with swing-store's message, another type with a coded TypeError", async t => {
  const { pair } = await buildCase(PRUNED);
  for (const artifactMode of ['bogus', 'Operational', '']) {
    const ref = await attempt(() => IMPLS.ref.makeSwingStoreExporter(pair.ref.dir, { artifactMode }));
    const mine = await attempt(() => IMPLS.ours.makeSwingStoreExporter(pair.ours.dir, { artifactMode }));
    t.deepEqual(outcomeProblems(ref, mine), [], `${show(artifactMode)}: ${show(ref)} vs ${show(mine)}`);
  }
  // A wrong type gets this package's argument-type error (swing-store says "invalid
  // artifactMode 42"): the binding's readers name the argument and the expected type.
  for (const artifactMode of [42, null, {}]) {
    const error = t.throws(() => IMPLS.ours.makeSwingStoreExporter(pair.ours.dir, { artifactMode }), { instanceOf: TypeError });
    t.is(error.code, 'ERR_INVALID_ARG_TYPE');
    t.regex(error.message, /artifactMode/);
  }
});

test('an exporter of a directory holding no store fails with ERR_NOT_A_SWING_STORE and creates nothing there', async t => {
  // Deliberately different: swing-store's exporter opens (so creates) an empty
  // swingstore.sqlite in the directory and then fails reading it ("no such table: kvStore"),
  // leaving a file that makes isSwingStore(dir) true. Ours refuses before touching anything.
  const dir = makeTempDir('export-no-store');
  const mine = await attempt(() => readExport(IMPLS.ours.makeSwingStoreExporter(dir)));
  t.false(mine.ok);
  t.is(mine.code, 'ERR_NOT_A_SWING_STORE');
  t.deepEqual(fs.readdirSync(dir), []);
  const missing = path.join(dir, 'missing');
  t.is((await attempt(() => IMPLS.ours.makeSwingStoreExporter(missing))).code, 'ERR_NOT_A_SWING_STORE');
  t.false(fs.existsSync(missing));

  const refDir = makeTempDir('export-no-store-ref');
  const ref = await attempt(() => readExport(IMPLS.ref.makeSwingStoreExporter(refDir)));
  t.false(ref.ok);
  t.true(IMPLS.ref.isSwingStore(refDir), 'swing-store no longer leaves a database file behind: this difference is gone');
});

// ------------------------------------------------------------------- iterations ---

/**
 * A store of implementation `side` whose kvStore spans several of the native reader's pages,
 * written in another order than its keys, with host and local keys among them and text that
 * is not plain ASCII: accents, astral characters, NUL, and lone surrogates (which both
 * implementations store as U+FFFD).
 */
const TEXTS = ['plain', 'é', '😀 astral', 'nul \u0000 inside', 'lone \ud800 high', 'lone \udfff low', '', '"quoted", \\ and \n'];
const wideStore = async side => {
  const dir = makeTempDir(`export-wide-${side}`);
  const { kernelStorage, hostStorage } = IMPLS[side].initSwingStore(dir);
  for (let i = 0; i < 9000; i += 1) {
    const n = (i * 7919) % 9000;
    const text = TEXTS[n % TEXTS.length];
    kernelStorage.kvStore.set(`k.${text}.${n}`, `${text} ${n}`);
    if (i % 1000 === 0) {
      kernelStorage.kvStore.set(`local.${n}`, 'local');
      hostStorage.kvStore.set(`host.${n}`, 'host');
    }
  }
  await hostStorage.commit();
  await hostStorage.close();
  return dir;
};

/** Steps `iterator` `count` times: the rows it yielded. */
const take = async (iterator, count) => {
  const rows = [];
  for (let i = 0; i < count; i += 1) {
    const { value, done } = await iterator.next();
    if (done) break;
    rows.push(value);
  }
  return rows;
};

/** Our exporter over a wide store of ours, and swing-store's export data of that store. */
const wideExport = async () => {
  const dir = await wideStore('ours');
  const { data: expected } = await exportOf('ref', dir, 'operational', { artifacts: false });
  return { expected, exporter: IMPLS.ours.makeSwingStoreExporter(dir) };
};

test('export data of keys and values beyond ASCII, over several pages, is byte for byte swing-store\'s', async t => {
  const [ref, mine] = await Promise.all(SIDES.map(async side => (await exportOf(side, await wideStore(side), 'operational', { artifacts: false })).data));
  t.is(mine.length, 9000);
  t.deepEqual(mine, ref);
});

test('two getExportData() iterations of one exporter, stepped in turn, each yield every row once, in order', async t => {
  const { expected, exporter } = await wideExport();
  const first = exporter.getExportData();
  const second = exporter.getExportData();
  const [a, b] = [[], []];
  for (;;) {
    const [fromFirst, fromSecond] = [await take(first, 700), await take(second, 1100)];
    if (fromFirst.length === 0 && fromSecond.length === 0) break;
    a.push(...fromFirst);
    b.push(...fromSecond);
  }
  await exporter.close();
  t.deepEqual(a, expected);
  t.deepEqual(b, expected);
});

test('an iteration left by break ends there, and the next one yields every row', async t => {
  const { expected, exporter } = await wideExport();
  const iterator = exporter.getExportData();
  let seen = 0;
  for await (const row of iterator) {
    seen += 1;
    if (seen === 10) break;
  }
  t.deepEqual(await iterator.next(), { value: undefined, done: true });
  t.deepEqual((await readExport(exporter, { artifacts: false })).data, expected);
});

test('an iteration of a closed exporter rejects its first step with ERR_CLOSED, then is done', async t => {
  const dir = await wideStore('ours');
  const exporter = IMPLS.ours.makeSwingStoreExporter(dir);
  const started = exporter.getExportData();
  await take(started, 5);
  await exporter.close();
  const fresh = exporter.getExportData();
  const failed = await attempt(() => fresh.next());
  t.is(failed.code, 'ERR_CLOSED');
  t.deepEqual(await fresh.next(), { value: undefined, done: true });
  t.is((await attempt(() => started.next())).code, 'ERR_CLOSED');
});

// swing-store's store cannot close while such an iteration is open (better-sqlite3 reports the
// connection busy); ours closes, and the iteration then fails rather than yield what it read.
test("a store's getExportRecords() iteration throws ERR_CLOSED once the store is closed", async t => {
  const { kernelStorage, hostStorage, internal } = IMPLS.ours.initSwingStore(makeTempDir('records-closed'));
  kernelStorage.transcriptStore.initTranscript('v1');
  for (let span = 0; span < 3; span += 1) {
    kernelStorage.transcriptStore.addItem('v1', `item ${span}`);
    kernelStorage.transcriptStore.rolloverSpan('v1');
  }
  await hostStorage.commit();
  const records = internal.transcriptStore.getExportRecords(true);
  t.false(records.next().done);
  await hostStorage.close();
  t.is(t.throws(() => records.next()).code, 'ERR_CLOSED');
});

// --------------------------------------------------------- beside a running writer ---

/**
 * A store for the writer/exporter scenarios: one vat with a snapshot and a current span,
 * two bundles; then `later` blocks that replace the vat's snapshot and span (pruning the old
 * ones: keepTranscripts is false), delete a bundle, and change the kvStore.
 */
const WRITER_OPTIONS = { keepTranscripts: false };
const baseBlock = [
  { type: 'startCrank' },
  { type: 'initTranscript', vatID: 'v1' },
  ...[1, 2, 3].map(n => ({ type: 'addItem', vatID: 'v1', item: `["deliver",${n}]` })),
  { type: 'snapshotCycle', vatID: 'v1', snapPos: 3, size: 90_000, seed: 7 },
  { type: 'set', key: 'a', value: 'block 1' },
  { type: 'addBundle', index: 0 },
  { type: 'addBundle', index: 1 },
  { type: 'emit' },
  { type: 'endCrank' },
  { type: 'hostSet', key: 'host.height', value: '1' },
  { type: 'commit' },
];
/** Block `height` (2 and up): after block h the vat's endPos is 5 + 3 (h - 1). */
const laterBlock = height => {
  const snapPos = 5 + 3 * (height - 2) + 1;
  return [
    { type: 'startCrank' },
    { type: 'addItem', vatID: 'v1', item: `["deliver","block ${height}"]` },
    { type: 'snapshotCycle', vatID: 'v1', snapPos, size: 20_000 + height, seed: height },
    { type: 'set', key: 'a', value: `block ${height}` },
    { type: 'delete', key: 'gone' },
    ...(height === 2 ? [{ type: 'deleteBundle', index: 0 }] : []),
    { type: 'emit' },
    { type: 'endCrank' },
    { type: 'hostSet', key: 'host.height', value: String(height) },
    { type: 'commit' },
  ];
};

const applyAll = async (store, ops) => {
  const bundleList = await bundles();
  for (const op of ops) await applyOp(store, op, bundleList);
};

/** A writer of implementation `side` on a new directory, at block 1. */
const startWriter = async side => {
  const dir = makeTempDir(`writer-${side}`);
  const store = IMPLS[side].initSwingStore(dir, WRITER_OPTIONS);
  await applyAll(store, baseBlock);
  return { dir, store };
};

test('an exporter shows one commit, whole, while the writer commits blocks that replace its artifacts', async t => {
  const seen = {};
  for (const side of SIDES) {
    const { dir, store } = await startWriter(side);
    const atBlock1 = await exportOf(side, dir, 'operational');
    const exporter = IMPLS[side].makeSwingStoreExporter(dir, { artifactMode: 'operational' });
    seen[side] = await readExport(exporter, {
      afterFirstRow: () => applyAll(store, [...laterBlock(2), ...laterBlock(3), ...laterBlock(4)]),
    });
    t.is(store.kernelStorage.kvStore.get('a'), 'block 4', `${side}: the writer's blocks were committed`);
    await store.hostStorage.close();
    t.deepEqual(exportDiff(atBlock1, seen[side]), [], `${side}: the export is not block 1's`);
  }
  t.deepEqual(exportDiff(seen.ref, seen.ours), []);
});

test('an exporter takes no lock: while it holds its view, the writer closes, reopens and commits', async t => {
  const { dir, store } = await startWriter('ours');
  const atBlock1 = await exportOf('ours', dir, 'operational');
  const exporter = IMPLS.ours.makeSwingStoreExporter(dir, { artifactMode: 'operational' });
  const seen = await readExport(exporter, {
    afterFirstRow: async () => {
      await store.hostStorage.close();
      const reopened = IMPLS.ours.openSwingStore(dir, WRITER_OPTIONS);
      await applyAll(reopened, laterBlock(2));
      await reopened.hostStorage.close();
    },
  });
  t.deepEqual(exportDiff(atBlock1, seen), []);
  const after = IMPLS.ours.openSwingStore(dir, WRITER_OPTIONS);
  t.is(after.hostStorage.kvStore.get('host.height'), '2');
  await after.hostStorage.close();
});

test("an exporter shows the commit that was current when it was made, as swing-store's does, not one committed before its first read", async t => {
  // swing-store's exporter promises "the content as of the most recent commit point at the
  // time the exporter was created" (exporter.js), and keeps it: it begins its read
  // transaction and reads the schema when it is made.
  const seen = {};
  for (const side of SIDES) {
    const { dir, store } = await startWriter(side);
    const exporter = IMPLS[side].makeSwingStoreExporter(dir, { artifactMode: 'operational' });
    await applyAll(store, laterBlock(2));
    seen[side] = { height: exporter.getHostKV('host.height'), ...(await readExport(exporter)) };
    await store.hostStorage.close();
  }
  t.is(seen.ref.height, '1', "swing-store's exporter is not pinned at its creation any more");
  t.is(seen.ours.height, seen.ref.height, 'our exporter shows a later commit than the one current when it was made');
  t.deepEqual(exportDiff(seen.ref, seen.ours), []);
});

/** Runs the export child on `dir`; `whilePinned` runs after it says it fixed its view. */
const exportFromChild = async (side, dir, artifactMode, whilePinned) => {
  const outFile = path.join(makeTempDir('export-child-out'), 'export.json');
  let pinnedAt;
  const run = await runWatched(EXPORT_CHILD, [side, dir, artifactMode, outFile], async (line, child) => {
    if (!line.startsWith('pinned ')) return;
    pinnedAt = line.slice('pinned '.length);
    await whilePinned();
    child.stdin.end('go\n');
  });
  if (run.code !== 0) throw Error(`the export child exited with ${run.code ?? run.signal}\n${run.stderr}`);
  const { data, names, bytes } = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  const decoded = Object.fromEntries(Object.entries(bytes).map(([name, b64]) => [name, Buffer.from(b64, 'base64')]));
  return { pinnedAt, data, names, bytes: decoded };
};

test('an exporter in another process exports the commit it fixed, while this process keeps committing', async t => {
  const seen = {};
  for (const side of SIDES) {
    const { dir, store } = await startWriter(side);
    const atBlock1 = await exportOf(side, dir, 'debug');
    seen[side] = await exportFromChild(side, dir, 'debug', () => applyAll(store, [...laterBlock(2), ...laterBlock(3)]));
    t.is(store.hostStorage.kvStore.get('host.height'), '3', `${side}: the writer's blocks were committed`);
    await store.hostStorage.close();
    t.is(seen[side].pinnedAt, '1');
    t.deepEqual(exportDiff(atBlock1, seen[side]), [], `${side}: the child's export is not block 1's`);
  }
  t.deepEqual(exportDiff(seen.ref, seen.ours), []);
  t.true(isDeepStrictEqual(Object.keys(seen.ours.bytes), seen.ours.names));
});
