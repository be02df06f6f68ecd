// Differential tests: the same operations applied to @agoric/swing-store 0.10.0 (the reference)
// and to our KernelStore must give the same reads, errors, hashes, export rows and final kvStore.
import '@endo/init/debug.js';
import test from 'ava';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { initSwingStore, openSwingStore } from '@agoric/swing-store';

import { mulberry32 } from './support/prng.mjs';
import { tmpDir } from './support/files.mjs';

const require = createRequire(import.meta.url);
const { KernelStore } = require('../index.js');

// ---------------------------------------------------------------------------------------------
// helpers



/** swing-store's debug dump kvEntries (object or array) as an array of [key, value]. */
const refEntries = ss => {
  const { kvEntries } = ss.debug.dump();
  return Array.isArray(kvEntries) ? kvEntries.map(([k, v]) => [k, v]) : Object.entries(kvEntries);
};
/**
 * Ours, shaped as swing-store's dump: its `kvEntries` is an object keyed by the JS strings
 * read back from SQLite, so distinct stored keys that decode to the same string (two different
 * lone surrogates both read back as U+FFFD) collapse into one entry there. Passing ours through
 * the same object keeps the comparison like for like; the on-disk test compares raw rows.
 */
const ourEntries = ks => Object.entries(Object.fromEntries(ks.dumpKv()));

/** Runs `f`, capturing its value or its error (message and code). */
const attempt = async f => {
  try {
    let value = f();
    if (value && typeof value.then === 'function') value = await value;
    return { ok: true, value };
  } catch (e) {
    return { ok: false, message: e && e.message, code: e && e.code, isError: e instanceof Error };
  }
};

const hashesOf = h => (h ? { crankhash: h.crankhash, activityhash: h.activityhash } : h);

/** Opens swing-store and ours side by side, both with export callbacks. */
const openPair = ({ dirA = null, dirB = null } = {}) => {
  const exA = [];
  const exB = [];
  const ss = initSwingStore(dirA, { exportCallback: rows => exA.push(rows) });
  const ks = KernelStore.open(dirB, { exportCallback: rows => exB.push(rows) });
  return { ss, ks, exA, exB };
};

/** Both implementations behind one interface, `ref` = swing-store, `ours` = KernelStore. */
const sides = ({ ss, ks }) => ({
  ref: {
    kernelKv: ss.kernelStorage.kvStore,
    hostKv: ss.hostStorage.kvStore,
    startCrank: () => ss.kernelStorage.startCrank(),
    establishCrankSavepoint: n => ss.kernelStorage.establishCrankSavepoint(n),
    rollbackCrank: n => ss.kernelStorage.rollbackCrank(n),
    emitCrankHashes: () => hashesOf(ss.kernelStorage.emitCrankHashes()),
    endCrank: () => ss.kernelStorage.endCrank(),
    getActivityhash: () => ss.kernelStorage.getActivityhash(),
    commit: () => ss.hostStorage.commit(),
    dump: () => refEntries(ss),
  },
  ours: {
    kernelKv: ks.kvStore,
    hostKv: ks.hostKvStore,
    startCrank: () => ks.startCrank(),
    establishCrankSavepoint: n => ks.establishCrankSavepoint(n),
    rollbackCrank: n => ks.rollbackCrank(n),
    emitCrankHashes: () => hashesOf(ks.emitCrankHashes()),
    endCrank: () => ks.endCrank(),
    getActivityhash: () => ks.getActivityhash(),
    commit: () => ks.commit(),
    dump: () => ourEntries(ks),
  },
});

/** A printable (escape-preserving) rendering of an op or outcome. */
const show = x => JSON.stringify(x, (_k, v) => (v === undefined ? '<undefined>' : v));

/**
 * Drives both stores through the same ops and reports the first divergence.
 * Each op is `{ desc, run(side) }`; `run` is called on the reference first, then ours.
 */
const makeComparer = (pair, label) => {
  const { ref, ours } = sides(pair);
  const history = [];
  let exportsChecked = 0;
  let divergence;
  const stats = new Map();
  const step = async (desc, run, statKey = desc.op) => {
    if (divergence) return undefined;
    const a = await attempt(() => run(ref));
    const b = await attempt(() => run(ours));
    history.push(desc);
    let outcome = 'threw';
    if (a.ok && (a.value === undefined || typeof a.value === 'boolean')) outcome = String(a.value);
    else if (a.ok) outcome = 'value';
    const key = a.ok ? `${statKey} -> ${outcome}` : `${statKey} -> threw ${a.message}`;
    stats.set(key, (stats.get(key) || 0) + 1);
    const problems = [];
    if (a.ok !== b.ok) problems.push('one side threw and the other did not');
    else if (a.ok && !isDeepStrictEqual(a.value, b.value)) problems.push('results differ');
    else if (!a.ok && a.message !== b.message) problems.push('error messages differ');
    if (!b.ok && typeof b.code !== 'string') problems.push('our error has no string code');
    if (!b.ok && !b.isError) problems.push('our thrown value is not an Error');
    const newA = pair.exA.slice(exportsChecked);
    const newB = pair.exB.slice(exportsChecked);
    if (!isDeepStrictEqual(newA, newB)) problems.push('export callback rows differ');
    else exportsChecked = pair.exA.length;
    if (problems.length) {
      divergence = [
        `${label}: divergence at op #${history.length - 1}: ${show(desc)}`,
        `problems: ${problems.join('; ')}`,
        `swing-store: ${show(a)}`,
        `ours:        ${show(b)}`,
        `swing-store exports since last check: ${show(newA)}`,
        `ours exports since last check:        ${show(newB)}`,
        `preceding ops:\n  ${history.slice(process.env.FULL_HISTORY ? 0 : -25, -1).map(show).join('\n  ')}`,
      ].join('\n');
    }
    return a;
  };
  return { step, failure: () => divergence, stats, ref, ours };
};

// ---------------------------------------------------------------------------------------------
// the random operation stream

const PREFIXES = ['kernel.', 'v1.vs.', 'local.', 'host.', '', 'local', 'host', 'hostx.', 'Local.'];
const BASE_CHARS = ['a', 'b', 'z', '.', 'é', '€', '😀', '中', '\uFFFF'];
const LONE_SURROGATES = ['\uD800', '\uDC00', '\uDBFF'];
const SAVEPOINT_NAMES = ['start', 'deliver', 'a', 'é😀', '', 'x"y\n'];

const makeGen = (seed, { loneSurrogates }) => {
  const rnd = mulberry32(seed);
  const chars = loneSurrogates ? [...BASE_CHARS, ...LONE_SURROGATES] : BASE_CHARS;
  const names = loneSurrogates ? [...SAVEPOINT_NAMES, '\uD800'] : SAVEPOINT_NAMES;
  const int = n => Math.floor(rnd() * n);
  const pick = arr => arr[int(arr.length)];
  const str = (min, max) => {
    let s = '';
    const n = min + int(max - min + 1);
    for (let i = 0; i < n; i += 1) s += pick(chars);
    return s;
  };
  const anyKey = () => (rnd() < 0.03 ? 'activityhash' : pick(PREFIXES) + str(0, 2));
  const hostKey = () => `host.${str(0, 2)}`;
  const nonHostKey = () => {
    for (;;) {
      const k = anyKey();
      if (!k.startsWith('host.')) return k;
    }
  };
  const value = () => {
    const r = rnd();
    if (r < 0.1) return '';
    if (r < 0.15) return pick(chars).repeat(100 + int(200));
    return str(1, 4);
  };
  /** picks one entry of `[weight, thing]` pairs */
  const weighted = table => {
    const total = table.reduce((s, [w]) => s + w, 0);
    let r = rnd() * total;
    for (const [w, thing] of table) {
      if (r < w) return thing;
      r -= w;
    }
    return table[table.length - 1][1];
  };
  return { rnd, int, pick, str, anyKey, hostKey, nonHostKey, value, weighted, names };
};

/**
 * Applies `count` random ops to both stores; returns the first divergence (a string) or
 * undefined. `commitWeight` controls how often commits happen.
 */
const runStream = async (pair, { seed, count, loneSurrogates, commitWeight, label }) => {
  const g = makeGen(seed, { loneSurrogates });
  const { step: rawStep, failure, stats } = makeComparer(pair, label);
  const model = { inCrank: false, savepoints: [] };
  // statistics distinguish ops made outside a crank
  const step = (desc, run, note = '') =>
    rawStep(desc, run, `${desc.op}${note}${model.inCrank ? '' : ' (outside crank)'}`);

  const read = async () => {
    const facet = g.rnd() < 0.7 ? 'kernelKv' : 'hostKv';
    const which = g.pick(['get', 'get', 'has', 'getNextKey', 'getNextKey']);
    let key;
    if (which === 'getNextKey' && g.rnd() < 0.3) key = '';
    else if (which === 'getNextKey' && g.rnd() < 0.3) key = g.pick(PREFIXES);
    else key = g.rnd() < 0.2 ? g.hostKey() : g.anyKey();
    await step({ op: `${facet}.${which}`, key }, s => s[facet][which](key));
  };

  /** A set (key, then value, drawn in that order) or a delete on `facet`, of a key from `keyOf`. */
  const setOn = (facet, keyOf) => async () => {
    const key = keyOf();
    const value = g.value();
    await step({ op: `${facet}.set`, key, value }, s => s[facet].set(key, value));
  };
  const deleteOn = (facet, keyOf) => async () => {
    const key = keyOf();
    await step({ op: `${facet}.delete`, key }, s => s[facet].delete(key));
  };
  const kernelSet = setOn('kernelKv', g.nonHostKey);
  const kernelDelete = deleteOn('kernelKv', g.nonHostKey);
  const hostSet = setOn('hostKv', g.hostKey);
  const hostDelete = deleteOn('hostKv', g.hostKey);
  const wrongFacet = async () => {
    const del = g.rnd() < 0.4;
    if (g.rnd() < 0.5) {
      const key = g.hostKey();
      const value = g.value();
      if (del) await step({ op: 'kernelKv.delete', key }, s => s.kernelKv.delete(key));
      else await step({ op: 'kernelKv.set', key, value }, s => s.kernelKv.set(key, value));
    } else {
      const key = g.nonHostKey();
      const value = g.value();
      if (del) await step({ op: 'hostKv.delete', key }, s => s.hostKv.delete(key));
      else await step({ op: 'hostKv.set', key, value }, s => s.hostKv.set(key, value));
    }
  };
  const startCrank = async () => {
    const a = await step({ op: 'startCrank' }, s => s.startCrank());
    if (a && a.ok) model.inCrank = true;
  };
  const establish = async () => {
    const name = g.pick(g.names);
    const a = await step({ op: 'establishCrankSavepoint', name }, s => s.establishCrankSavepoint(name));
    if (a && a.ok) model.savepoints.push(name);
  };
  const rollback = async () => {
    const name =
      model.savepoints.length && g.rnd() < 0.7 ? g.pick(model.savepoints) : g.pick([...g.names, 'nope']);
    const repeated = model.savepoints.filter(n => n === name).length > 1 ? ' (name used twice)' : '';
    const a = await step({ op: 'rollbackCrank', name }, s => s.rollbackCrank(name), repeated);
    if (a && a.ok) model.savepoints.length = model.savepoints.indexOf(name);
  };
  const emit = async () => {
    await step({ op: 'emitCrankHashes' }, s => s.emitCrankHashes());
  };
  const endCrank = async () => {
    const a = await step({ op: 'endCrank' }, s => s.endCrank());
    if (a && a.ok) {
      model.inCrank = false;
      model.savepoints = [];
    }
  };
  const commit = async () => {
    // A commit inside a crank with live savepoints ends them behind the crank's back (see the
    // dedicated test below); the random stream only commits where the kernel would.
    if (model.savepoints.length) return read();
    await step({ op: 'commit' }, s => s.commit());
    // compare the whole kvStore at every commit
    await step({ op: 'whole kvStore after commit' }, s => s.dump());
    return undefined;
  };
  const activity = async () => {
    await step({ op: 'getActivityhash' }, s => s.getActivityhash());
  };

  const inCrankTable = [
    [26, kernelSet],
    [8, kernelDelete],
    [5, hostSet],
    [2, hostDelete],
    [3, wrongFacet],
    [22, read],
    [2, activity],
    [1, startCrank],
    [6, establish],
    [5, rollback],
    [4, emit],
    [5, endCrank],
    [commitWeight / 3, commit],
  ];
  const outsideTable = [
    [25, startCrank],
    [15, kernelSet],
    [5, kernelDelete],
    [5, hostSet],
    [2, hostDelete],
    [2, wrongFacet],
    [15, read],
    [5, emit],
    [2, endCrank],
    [2, establish],
    [2, rollback],
    [2, activity],
    [commitWeight, commit],
  ];

  for (let i = 0; i < count && !failure(); i += 1) {
    const op = g.weighted(model.inCrank ? inCrankTable : outsideTable);
    await op();
  }
  return { failure: failure(), stats };
};

const compareFinalState = async (t, pair, label) => {
  const { step, failure } = makeComparer(pair, `${label} (final)`);
  // finish: end any crank, emit, commit
  await step({ op: 'endCrank (if in crank)' }, s => {
    try {
      s.endCrank();
    } catch (e) {
      if (e.message !== 'endCrank outside of crank') throw e;
    }
  });
  await step({ op: 'emitCrankHashes' }, s => s.emitCrankHashes());
  await step({ op: 'commit' }, s => s.commit());
  t.is(failure(), undefined);
  t.deepEqual(ourEntries(pair.ks), refEntries(pair.ss), `${label}: whole kvStore`);
  t.is(pair.ks.getActivityhash(), pair.ss.kernelStorage.getActivityhash(), `${label}: activityhash`);
  t.deepEqual(pair.exB, pair.exA, `${label}: every export callback delivery`);
};

const streamTest = async (t, { seed, count, loneSurrogates, disk, commitWeight }) => {
  const label = `${disk ? 'on-disk' : 'in-memory'} seed=${seed}`;
  const dirA = disk ? tmpDir(t, 'kvdiff-ref') : null;
  const dirB = disk ? tmpDir(t, 'kvdiff-ours') : null;
  const pair = openPair({ dirA, dirB });
  if (disk) {
    // Teardowns run last first: the stores close before their directories go.
    t.teardown(async () => {
      if (!pair.ks.closed) pair.ks.close();
      await pair.ss.hostStorage.close().catch(() => {});
    });
  }
  const { failure, stats } = await runStream(pair, { seed, count, loneSurrogates, commitWeight, label });
  t.is(failure, undefined, failure);
  if (failure) return;
  // the stream really exercised every behaviour it is meant to compare
  const sorted = [...stats.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  t.log(sorted.map(([k, n]) => `${String(n).padStart(5)}  ${k}`).join('\n'));
  const seen = re => sorted.filter(([k]) => re.test(k)).reduce((sum, [, n]) => sum + n, 0);
  const mustSee = [
    /^kernelKv\.get -> value/,
    /^kernelKv\.get -> undefined/,
    /^hostKv\.get -> value/,
    /^kernelKv\.has -> true/,
    /^kernelKv\.has -> false/,
    /^kernelKv\.getNextKey -> value/,
    /getNextKey( \(outside crank\))? -> undefined/,
    /^kernelKv\.set -> /,
    /^kernelKv\.delete -> /,
    /^kernelKv\.set \(outside crank\) -> /,
    /^hostKv\.set -> /,
    /^hostKv\.delete -> /,
    /threw kernelKVStore refuses host keys/,
    /threw hostKVStore requires host keys/,
    /^startCrank -> threw startCrank while already in a crank/,
    /^establishCrankSavepoint -> undefined/,
    /establishCrankSavepoint \(outside crank\) -> threw establishCrankSavepoint outside of crank/,
    /^rollbackCrank -> undefined/,
    /^rollbackCrank -> threw no such savepoint as/,
    /^rollbackCrank \(name used twice\) -> undefined/,
    /rollbackCrank \(outside crank\) -> threw rollbackCrank outside of crank/,
    /^emitCrankHashes -> value/,
    /^emitCrankHashes \(outside crank\) -> value/,
    /^endCrank -> undefined/,
    /endCrank \(outside crank\) -> threw endCrank outside of crank/,
    /^commit( \(outside crank\))? -> /,
    /^commit -> /,
  ];
  for (const re of mustSee) t.true(seen(re) > 0, `the stream never produced ${re}`);
  t.true(seen(/^commit( \(outside crank\))? -> /) >= (disk ? 50 : 20), 'enough commits');
  await compareFinalState(t, pair, label);
  t.true(pair.exA.length > 10, 'the stream exercised the export callback');
  if (disk) {
    await pair.ss.hostStorage.close();
    pair.ks.close();
    // the bytes SQLite holds for every kv row are identical
    const rows = dir => {
      const db = new Database(path.join(dir, 'swingstore.sqlite'), { readonly: true });
      try {
        return {
          kv: db.prepare('SELECT hex(key) AS k, hex(value) AS v FROM kvStore ORDER BY key').all(),
          pending: db.prepare('SELECT count(*) AS n FROM pendingExports').get().n,
        };
      } finally {
        db.close();
      }
    };
    t.deepEqual(rows(dirB), rows(dirA), `${label}: SQLite kvStore rows (hex bytes)`);
    // and both reopen (each in the other's implementation too) to the same state
    const ss2 = openSwingStore(dirA);
    const ks2 = KernelStore.open(dirB);
    t.deepEqual(ourEntries(ks2), refEntries(ss2), `${label}: kvStore after reopen`);
    t.is(ks2.getActivityhash(), ss2.kernelStorage.getActivityhash());
    await ss2.hostStorage.close();
    ks2.close();
  }
};

// ---------------------------------------------------------------------------------------------
// tests

test('in-memory: 12,000-op random stream (well-formed unicode) behaves exactly like swing-store', async t => {
  await streamTest(t, { seed: 0x5eed1, count: 12_000, loneSurrogates: false, disk: false, commitWeight: 3 });
});

test('in-memory: 12,000-op random stream with lone surrogates in keys, values and names behaves exactly like swing-store', async t => {
  await streamTest(t, { seed: 0x5eed2, count: 12_000, loneSurrogates: true, disk: false, commitWeight: 3 });
});

test('on-disk: 3,000-op random stream with frequent commits behaves exactly like swing-store (and the SQLite rows match)', async t => {
  await streamTest(t, { seed: 0xd15c, count: 3_000, loneSurrogates: false, disk: true, commitWeight: 10 });
});

test('on-disk: 3,000-op random stream with lone surrogates behaves exactly like swing-store (and the SQLite rows match)', async t => {
  await streamTest(t, { seed: 0xd15d, count: 3_000, loneSurrogates: true, disk: true, commitWeight: 10 });
});

test('a worked example: crank and activity hashes and export rows', t => {
  const rows = [];
  const ks = KernelStore.open(null, { exportCallback: r => rows.push(r) });
  const kv = ks.kvStore;
  /** What swing-store's kernel computes for the two cranks below. */
  const expected = {
    first: {
      crankhash: '55b29e0f956252a026d055343b8a99c8336325732aa06428ae77194e98fc82d1',
      activityhash: 'd884fd51eb3b3557d73f9b1c67a2bf99d67ee28e4e6652f9d35e13cf6cbd83af',
    },
    second: {
      crankhash: '0a6623ad922a2d2bb846fce452705c3e5636e12085e6477e62c7525b0a2b6bd4',
      activityhash: '8832bf2635437fb3c035a151e3abbc928d852ec64022fd9a61b4a9475600b158',
    },
  };
  const endCrank = () => {
    const hashes = ks.emitCrankHashes();
    ks.endCrank();
    return hashes;
  };
  t.is(ks.getActivityhash(), '');

  ks.startCrank();
  kv.set('kernel.a', '1');
  kv.set('local.x', 'ignored');
  kv.delete('kernel.b');
  const h1 = endCrank();
  t.deepEqual({ ...h1 }, expected.first);
  t.deepEqual(Object.keys(h1), ['crankhash', 'activityhash']);

  ks.startCrank();
  ks.establishCrankSavepoint('start');
  kv.set('kernel.a', '2');
  ks.establishCrankSavepoint('deliver');
  kv.set('kernel.c', '€3');
  ks.rollbackCrank('deliver');
  const h2 = endCrank();
  t.deepEqual({ ...h2 }, expected.second);
  t.is(kv.get('kernel.c'), undefined);
  t.is(kv.get('kernel.a'), '2');
  t.is(ks.getActivityhash(), h2.activityhash);

  t.deepEqual(rows, [
    [
      ['kv.activityhash', 'd884fd51eb3b3557d73f9b1c67a2bf99d67ee28e4e6652f9d35e13cf6cbd83af'],
      ['kv.kernel.a', '1'],
      ['kv.kernel.b', null],
    ],
    [
      ['kv.activityhash', '8832bf2635437fb3c035a151e3abbc928d852ec64022fd9a61b4a9475600b158'],
      ['kv.kernel.a', '2'],
    ],
  ]);
  ks.close();
});

/** Applies `ops` (functions of a side) to both, returning [refOutcomes, ourOutcomes]. */
const both = async (pair, ops) => {
  const { ref, ours } = sides(pair);
  const ra = [];
  const rb = [];
  for (const op of ops) {
    const a = await attempt(() => op(ref));
    const b = await attempt(() => op(ours));
    const op_ = String(op).replace(/^s => /, '');
    ra.push(a.ok ? { op: op_, value: a.value } : { op: op_, error: a.message });
    rb.push(b.ok ? { op: op_, value: b.value } : { op: op_, error: b.message });
  }
  return [ra, rb];
};

test('lone surrogates in keys and values are stored and read back as swing-store does', async t => {
  const pair = openPair();
  const [ra, rb] = await both(pair, [
    s => s.kernelKv.set('k\uD800', 'v\uDC00'),
    s => s.kernelKv.set('k\uE000', 'private-use'),
    s => s.kernelKv.get('k\uD800'),
    s => s.kernelKv.get('k\uFFFD'),
    s => s.kernelKv.has('k\uDBFF'),
    s => s.kernelKv.getNextKey('k'),
    s => s.kernelKv.getNextKey('k\uD800'),
    s => s.startCrank(),
    s => s.kernelKv.set('q\uD83D', '\uDE00'),
    s => s.emitCrankHashes(),
    s => s.endCrank(),
  ]);
  t.deepEqual(rb, ra, 'reads and hashes');
  t.deepEqual(pair.exB, pair.exA, 'export rows');
  t.deepEqual(ourEntries(pair.ks), refEntries(pair.ss), 'whole kvStore');
});

test('savepoint names with lone surrogates are matched and quoted as swing-store does', async t => {
  const pair = openPair();
  const [ra, rb] = await both(pair, [
    s => s.startCrank(),
    s => s.establishCrankSavepoint('\uD800'),
    s => s.rollbackCrank('\uDC00'),
    s => s.rollbackCrank('\uDBFF'),
    s => s.rollbackCrank('\uD800'),
    s => s.endCrank(),
  ]);
  t.deepEqual(rb, ra);
});

test('facet namespace checks come before the value type check, as in swing-store', async t => {
  const pair = openPair();
  const [ra, rb] = await both(pair, [
    s => s.kernelKv.set('host.x', 5),
    s => s.hostKv.set('kernel.x', 5),
    s => s.hostKv.set('local.x', undefined),
    s => s.kernelKv.set(5, 6),
    s => s.kernelKv.set('kernel.y', 6),
  ]);
  t.deepEqual(rb, ra);
});

test('crank-state checks come before the savepoint-name type check, as in swing-store', async t => {
  const pair = openPair();
  const [ra, rb] = await both(pair, [
    s => s.establishCrankSavepoint(5),
    s => s.rollbackCrank(5),
    s => s.establishCrankSavepoint(undefined),
  ]);
  t.deepEqual(rb, ra);
});

// A deliberate difference: swing-store keeps any value as a savepoint label and matches it
// with ===; ours takes the strings the kernel always passes and refuses anything else with a
// TypeError, changing nothing.
test('non-string savepoint names: swing-store matches them, ours refuses them with a TypeError', async t => {
  const pair = openPair();
  const [ra, rb] = await both(pair, [
    s => s.startCrank(),
    s => s.establishCrankSavepoint(5),
    s => s.kernelKv.set('kernel.a', '1'),
    s => s.rollbackCrank(5),
    s => s.kernelKv.get('kernel.a'),
    s => s.endCrank(),
  ]);
  t.deepEqual(ra.map(r => r.value), [undefined, undefined, undefined, undefined, undefined, undefined]);
  t.like(rb[1], { error: 'savepoint name must be a string' });
  t.like(rb[3], { error: 'savepoint name must be a string' });
  t.is(rb[4].value, '1', 'the refused rollback changed nothing');
  pair.ks.startCrank();
  t.throws(() => pair.ks.establishCrankSavepoint(5), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' });
});

test('commit inside a crank that has savepoints: the later rollbackCrank and endCrank fail with the same messages as swing-store', async t => {
  const pair = openPair();
  const [ra, rb] = await both(pair, [
    s => s.startCrank(),
    s => s.establishCrankSavepoint('a'),
    s => s.kernelKv.set('x', '1'),
    s => s.commit(),
    s => s.kernelKv.set('y', '1'),
    s => s.establishCrankSavepoint('b'),
    s => s.kernelKv.set('z', '1'),
    s => s.rollbackCrank('b'),
    s => s.kernelKv.get('z'),
    s => s.rollbackCrank('a'),
    s => s.endCrank(),
  ]);
  t.deepEqual(rb, ra);
  t.deepEqual(ourEntries(pair.ks), refEntries(pair.ss));
});

test('a block larger than the 64 MiB in-memory threshold (spilled into SQLite mid-block) behaves like swing-store', async t => {
  const pair = openPair();
  const { step, failure } = makeComparer(pair, 'big block');
  const MiB = 1 << 20;
  const big = i => String.fromCharCode(97 + (i % 26)).repeat(MiB);
  // crank 1: ~70 MiB of consensus writes, then endCrank (the spill point)
  await step({ op: 'startCrank' }, s => s.startCrank());
  for (let i = 0; i < 70; i += 1) {
    const key = `kernel.big.${String(i).padStart(3, '0')}`;
    await step({ op: 'set big', key }, s => s.kernelKv.set(key, big(i)));
  }
  await step({ op: 'emitCrankHashes' }, s => s.emitCrankHashes());
  await step({ op: 'endCrank' }, s => s.endCrank());
  // crank 2: overwrite, delete and roll back around the spilled rows
  await step({ op: 'startCrank' }, s => s.startCrank());
  await step({ op: 'establishCrankSavepoint' }, s => s.establishCrankSavepoint('a'));
  await step({ op: 'delete' }, s => s.kernelKv.delete('kernel.big.005'));
  await step({ op: 'set' }, s => s.kernelKv.set('kernel.big.006', 'small'));
  await step({ op: 'set' }, s => s.kernelKv.set('kernel.big.0065', 'new'));
  await step({ op: 'establishCrankSavepoint' }, s => s.establishCrankSavepoint('b'));
  await step({ op: 'delete' }, s => s.kernelKv.delete('kernel.big.007'));
  await step({ op: 'set' }, s => s.kernelKv.set('kernel.big.008', 'x'));
  await step({ op: 'rollbackCrank' }, s => s.rollbackCrank('b'));
  for (const key of ['kernel.big.005', 'kernel.big.006', 'kernel.big.007', 'kernel.big.008']) {
    await step({ op: 'get', key }, s => (s.kernelKv.get(key) || '').slice(0, 8));
    await step({ op: 'has', key }, s => s.kernelKv.has(key));
  }
  await step({ op: 'scan' }, s => {
    const keys = [];
    for (let k = s.kernelKv.getNextKey('kernel.big.'); k && k.startsWith('kernel.big.'); ) {
      keys.push(k);
      k = s.kernelKv.getNextKey(k);
    }
    return keys;
  });
  await step({ op: 'emitCrankHashes' }, s => s.emitCrankHashes());
  await step({ op: 'endCrank' }, s => s.endCrank());
  // crank 3: roll everything back to the crank's start
  await step({ op: 'startCrank' }, s => s.startCrank());
  await step({ op: 'establishCrankSavepoint' }, s => s.establishCrankSavepoint('start'));
  await step({ op: 'delete' }, s => s.kernelKv.delete('kernel.big.010'));
  await step({ op: 'rollbackCrank' }, s => s.rollbackCrank('start'));
  await step({ op: 'get' }, s => (s.kernelKv.get('kernel.big.010') || '').length);
  await step({ op: 'emitCrankHashes' }, s => s.emitCrankHashes());
  await step({ op: 'endCrank' }, s => s.endCrank());
  await step({ op: 'commit' }, s => s.commit());
  t.is(failure(), undefined, failure());
  const summary = entries => entries.map(([k, v]) => [k, v.length, v.slice(0, 4)]);
  t.deepEqual(summary(ourEntries(pair.ks)), summary(refEntries(pair.ss)));
  t.is(pair.ks.getActivityhash(), pair.ss.kernelStorage.getActivityhash());
  pair.ks.close();
  await pair.ss.hostStorage.close();
});
