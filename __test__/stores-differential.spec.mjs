// The JS wrappers of lib/stores.cjs (transcriptStore, snapStore, bundleStore), differential:
// the same calls through @agoric/swing-store 0.10.0 and through ours, comparing what each call
// returns or throws (its message; ours also carries a stable `code`, and argument-type errors are
// TypeErrors where swing-store throws plain Errors or SqliteErrors), the export rows, and the
// stores' dumps. Covers what kernel runs do not reach: argument edge cases, error paths,
// budgets, pruned data.
import '@endo/init/debug.js';
import test from 'ava';
import { Buffer } from 'node:buffer';
import { initSwingStore as initTheirs } from '@agoric/swing-store';
import { initSwingStore as initOurs } from '../lib/index.mjs';

/** Both stores, in memory, each with its export rows collected. */
const makePair = (options = {}) => {
  const open = init => {
    const rows = [];
    const store = init(null, { exportCallback: r => rows.push(...r), ...options });
    return { store, rows };
  };
  return { theirs: open(initTheirs), ours: open(initOurs) };
};

/** What a call did: its value (iterators drained), or the error's message and code. */
const outcome = async fn => {
  try {
    let value = await fn();
    if (value && typeof value[Symbol.iterator] === 'function' && typeof value !== 'string') value = [...value];
    else if (value && typeof value[Symbol.asyncIterator] === 'function') {
      const items = [];
      for await (const item of value) items.push(Buffer.from(item).toString('hex'));
      value = items;
    }
    return { ok: true, value: JSON.parse(JSON.stringify(value ?? null, replacer)) };
  } catch (error) {
    return { ok: false, message: error.message, code: error.code };
  }
};

/**
 * Timings differ run to run, and a compressed size is the gzip encoder's, not the store's
 * (docs/design.md: the gzip bytes are not Node's); everything else must not differ.
 */
const replacer = (key, value) => (/Seconds$/.test(key) || key === 'compressedSize' ? typeof value : value);

/** Runs `call(storage)` on both and asserts the outcomes agree. */
const same = async (t, pair, label, call) => {
  const { code: _, ...theirs } = await outcome(() => call(pair.theirs.store.kernelStorage));
  const { code, ...ours } = await outcome(() => call(pair.ours.store.kernelStorage));
  t.deepEqual(ours, theirs, label);
  if (!ours.ok) t.regex(String(code), /^ERR_[A-Z_]+$/, `${label}: ours is coded`);
  return ours;
};

/** Export rows and dumps agree (gzip bytes aside: not consensus). */
const sameState = (t, pair) => {
  const dump = ({ store }) => {
    const { kvEntries, transcripts, snapshots, bundles } = store.debug.dump();
    const hashes = Object.fromEntries(
      Object.entries(snapshots).map(([vatID, list]) => [vatID, list.map(({ compressedSnapshot, ...s }) => ({ ...s, hasData: !!compressedSnapshot }))]),
    );
    return { kvEntries, transcripts, snapshots: hashes, bundles };
  };
  t.deepEqual(dump(pair.ours), dump(pair.theirs), 'dumps');
  t.deepEqual(pair.ours.rows, pair.theirs.rows, 'export rows');
};

const items = n => Array.from({ length: n }, (_, i) => `{"d":${i}}`);

test('readSpan: start positions of every kind are judged as swing-store judges them', async t => {
  const pair = makePair();
  await same(t, pair, 'setup', async ({ transcriptStore }) => {
    transcriptStore.initTranscript('v1');
    for (const item of items(3)) transcriptStore.addItem('v1', item);
    await transcriptStore.rolloverSpan('v1');
    for (const item of items(2)) transcriptStore.addItem('v1', item);
  });
  for (const start of [undefined, 0, 3, 1, 0.5, -1, NaN, Infinity, -Infinity, 1e21, 2 ** 53, 2 ** 64, '0', null, {}, -0]) {
    await same(t, pair, `readSpan v1 at ${String(start)}`, ({ transcriptStore }) => transcriptStore.readSpan('v1', start));
  }
  await same(t, pair, 'unknown vat', ({ transcriptStore }) => transcriptStore.readSpan('v9'));
  await same(t, pair, 'unknown vat at 0', ({ transcriptStore }) => transcriptStore.readSpan('v9', 0));
  sameState(t, pair);
});

test('transcripts: rollovers, stopping and budgeted deletion answer and export as swing-store', async t => {
  const pair = makePair();
  const script = [
    ['init', s => s.initTranscript('v1')],
    ['init twice', s => s.initTranscript('v1')],
    ['bounds', s => s.getCurrentSpanBounds('v1')],
    ['add', s => items(4).forEach(item => s.addItem('v1', item))],
    ['rollover', s => s.rolloverSpan('v1')],
    ['add', s => s.addItem('v1', 'x')],
    ['rollover incarnation', s => s.rolloverIncarnation('v1')],
    ['add', s => s.addItem('v1', 'y')],
    ['bounds', s => s.getCurrentSpanBounds('v1')],
    ['rollover of an unknown vat', s => s.rolloverSpan('v9')],
    ['stop', s => s.stopUsingTranscript('v1')],
    ['stop again', s => s.stopUsingTranscript('v1')],
    ['bounds after stop', s => s.getCurrentSpanBounds('v1')],
    ['delete budget 0', s => s.deleteVatTranscripts('v1', 0)],
    ['delete budget 1', s => s.deleteVatTranscripts('v1', 1)],
    ['delete budget 1.5', s => s.deleteVatTranscripts('v1', 1.5)],
    ['delete budget NaN', s => s.deleteVatTranscripts('v1', NaN)],
    ['delete budget 5', s => s.deleteVatTranscripts('v1', 5)],
    ['delete all', s => s.deleteVatTranscripts('v1')],
  ];
  for (const [label, step] of script) {
    await same(t, pair, label, ({ transcriptStore }) => step(transcriptStore));
  }
  sameState(t, pair);
});

test('transcripts without keepTranscripts prune closed spans, and their reads fail at the end as swing-store fails them', async t => {
  const pair = makePair({ keepTranscripts: false });
  await same(t, pair, 'setup', async ({ transcriptStore }) => {
    transcriptStore.initTranscript('v1');
    items(3).forEach(item => transcriptStore.addItem('v1', item));
    return transcriptStore.rolloverSpan('v1');
  });
  await same(t, pair, 'pruned span', ({ transcriptStore }) => transcriptStore.readSpan('v1', 0));
  sameState(t, pair);
});

async function* chunksOf(...parts) {
  for (const part of parts) yield Buffer.from(part);
}

test('snapshots: save, info, load, retire and budgeted deletion answer and export as swing-store', async t => {
  const pair = makePair();
  const script = [
    ['info of none', s => s.getSnapshotInfo('v1')],
    ['load of none', s => s.loadSnapshot('v1')],
    ['save', s => s.saveSnapshot('v1', 5, chunksOf('heap ', 'one'))],
    ['info', s => s.getSnapshotInfo('v1')],
    ['load', s => s.loadSnapshot('v1')],
    ['save again', s => s.saveSnapshot('v1', 9, chunksOf('heap two'))],
    ['save empty', s => s.saveSnapshot('v2', 0, chunksOf())],
    ['load empty', s => s.loadSnapshot('v2')],
    ['stop', s => s.stopUsingLastSnapshot('v1')],
    ['stop again', s => s.stopUsingLastSnapshot('v1')],
    ['load after stop', s => s.loadSnapshot('v1')],
    ['delete budget 0', s => s.deleteVatSnapshots('v1', 0)],
    ['delete budget 1', s => s.deleteVatSnapshots('v1', 1)],
    ['delete all', s => s.deleteVatSnapshots('v1')],
    ['delete all of none', s => s.deleteVatSnapshots('v7')],
    ['delete unused', s => s.deleteAllUnusedSnapshots()],
  ];
  for (const [label, step] of script) {
    await same(t, pair, label, ({ snapStore }) => step(snapStore));
  }
  sameState(t, pair);
});

test('bundles: add, has, get and delete answer and export as swing-store, refusals included', async t => {
  const pair = makePair();
  const b0 = { moduleFormat: 'nestedEvaluate', source: 'function f() { return 1; }', sourceMap: '//# sourceMap' };
  const { createHash } = await import('node:crypto');
  const b0ID = `b0-${createHash('sha256').update(JSON.stringify(b0)).digest('hex')}`;
  const script = [
    ['add b0', s => s.addBundle(b0ID, b0)],
    ['add b0 twice', s => s.addBundle(b0ID, b0)],
    ['has', s => s.hasBundle(b0ID)],
    ['get', s => s.getBundle(b0ID)],
    ['mismatched id', s => s.addBundle(`b0-${'0'.repeat(64)}`, b0)],
    ['wrong format', s => s.addBundle(b0ID, { ...b0, moduleFormat: 'getExport' })],
    ['unknown id form', s => s.addBundle('b2-whatever', b0)],
    ['b1 with wrong format', s => s.addBundle('b1-abc', { moduleFormat: 'nestedEvaluate' })],
    ['b1 mismatched', s => s.addBundle('b1-abc', { moduleFormat: 'endoZipBase64', endoZipBase64: 'AAAA', endoZipBase64Sha512: 'def' })],
    ['get missing', s => s.getBundle('b1-missing')],
    ['delete', s => s.deleteBundle(b0ID)],
    ['delete again', s => s.deleteBundle(b0ID)],
    ['has after delete', s => s.hasBundle(b0ID)],
  ];
  for (const [label, step] of script) {
    await same(t, pair, label, ({ bundleStore }) => step(bundleStore));
  }
  sameState(t, pair);
});
