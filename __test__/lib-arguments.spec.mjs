// The JS layer's own argument checks (lib/): what the hostile-input fuzzer found reaching a
// stream's write, a destructuring or a call of a non-function uncoded. Each bad call must fail
// with a coded Error or TypeError whose message names the argument, never as an uncaught
// exception, and change nothing; each good call must do what @agoric/swing-store 0.10.0 does.
import '@endo/init/debug.js';
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import tmp from 'tmp';
import * as theirs from '@agoric/swing-store';
import {
  initSwingStore,
  makeArchiveSnapshot,
  makeArchiveTranscript,
  makeBundleStore,
  makeSnapStoreIO,
  readUpgradeOutcomes,
} from '../lib/index.mjs';
import { tmpDir } from './support/files.mjs';

const powers = { fs, path, tmp };
const WRITERS = { makeArchiveSnapshot, makeArchiveTranscript };

/** How `call()` ended: its value, or what it threw or rejected with. */
const outcome = async call => {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, error };
  }
};

/** Every file under `dir`, as relative paths. */
const filesUnder = dir => fs.readdirSync(dir, { recursive: true }).sort();

/** Asserts that `error` is a coded error of class `Expected` whose message matches `message`. */
const assertCoded = (t, error, Expected, code, message, label) => {
  t.true(error instanceof Expected, `${label}: ${error}`);
  t.is(error?.code, code, `${label}: ${error}`);
  t.regex(error?.message ?? '', message, label);
};

// ----------------------------------------------------------------------------- archives ---

/** Rejections of an archive call must not escape as uncaught exceptions while a spec waits. */
const withNoUncaught = async (t, body) => {
  const uncaught = [];
  const note = error => uncaught.push(error);
  process.on('uncaughtException', note);
  try {
    await body();
    // A stream's failing write is reported on a later turn: give it one.
    await new Promise(resolve => setTimeout(resolve, 50));
  } finally {
    process.off('uncaughtException', note);
  }
  t.deepEqual(uncaught, []);
};

const NOT_CHUNKS = [
  ['an array of numbers', () => [1, 2]],
  ['an array holding null', () => [null]],
  ['an array holding an object', () => [{}]],
  ['an array holding an ArrayBuffer', () => [new ArrayBuffer(2)]],
  ['chunks and then a number', () => [Buffer.from('a'), 3]],
  ['a generator of numbers', () => (function* numbers() { yield 7; })()],
  ['an async generator of numbers', () => (async function* numbers() { yield 7; })()],
];
const NOT_ITERABLE = [
  ['a number', () => 5],
  ['null', () => null],
  ['undefined', () => undefined],
  ['a plain object', () => ({})],
  ['an ArrayBuffer', () => new ArrayBuffer(2)],
];

for (const [writer, dataName] of [['makeArchiveSnapshot', 'gzData'], ['makeArchiveTranscript', 'entries']]) {
  test(`${writer}'s writer rejects ${dataName} yielding chunks that are not Uint8Arrays or strings with ERR_INVALID_ARG_TYPE, and leaves no file`, async t => {
    const dir = tmpDir(t, 'lib-arguments');
    const archive = WRITERS[writer](dir, powers);
    await withNoUncaught(t, async () => {
      for (const [label, data] of NOT_CHUNKS) {
        const { ok, error } = await outcome(() => archive('snapshot.v1.2', data()));
        t.false(ok, label);
        assertCoded(t, error, TypeError, 'ERR_INVALID_ARG_TYPE', new RegExp(`${dataName} must yield Uint8Array .* chunk \\d+ is`), label);
        t.deepEqual(filesUnder(dir), [], `${label}: no file, temporary or final`);
      }
    });
  });

  test(`${writer}'s writer rejects a non-iterable ${dataName} with ERR_INVALID_ARG_TYPE, and leaves no file`, async t => {
    const dir = tmpDir(t, 'lib-arguments');
    const archive = WRITERS[writer](dir, powers);
    for (const [label, data] of NOT_ITERABLE) {
      const call = archive('snapshot.v1.2', data());
      t.true(call instanceof Promise, `${label}: a rejection, not a throw`);
      const { ok, error } = await outcome(() => call);
      t.false(ok, label);
      assertCoded(t, error, TypeError, 'ERR_INVALID_ARG_TYPE', new RegExp(`${dataName} must be an iterable`), label);
    }
    t.deepEqual(filesUnder(dir), []);
  });

  test(`${writer}'s writer rejects a name that is not a file name with ERR_INVALID_ARG_VALUE, writing nothing anywhere`, async t => {
    const parent = tmpDir(t, 'lib-arguments');
    const dir = path.join(parent, 'archive');
    const archive = WRITERS[writer](dir, powers);
    for (const name of ['../escaped', 'sub/name', '', 'nul\0name', 'a..b']) {
      const { ok, error } = await outcome(() => archive(name, [Buffer.from('data')]));
      t.false(ok, JSON.stringify(name));
      assertCoded(t, error, Error, 'ERR_INVALID_ARG_VALUE', /[nN]ame must be a file name/, JSON.stringify(name));
    }
    const { error } = await outcome(() => archive(Symbol('name'), [Buffer.from('data')]));
    assertCoded(t, error, TypeError, 'ERR_INVALID_ARG_TYPE', /[nN]ame must be a string, not symbol/, 'a symbol');
    t.deepEqual(filesUnder(parent), ['archive']);
  });

  test(`${writer} refuses powers without a method the writer calls with ERR_INVALID_ARG_TYPE, before making the directory`, async t => {
    const dir = path.join(tmpDir(t, 'lib-arguments'), 'archive');
    const refused = [
      [{ fs: {}, path, tmp }, /^powers\.fs must be the fs module: its createWriteStream is undefined/],
      [{ fs, path, tmp: {} }, /^powers\.tmp must be the tmp module: its fileSync is undefined/],
      [{ fs, path: {}, tmp }, /^powers\.path must be the path module: its join is undefined/],
      [{ fs, path }, /^powers\.tmp must be the tmp module, not undefined/],
      [null, /^powers must be an object/],
    ];
    for (const [bad, message] of refused) {
      const error = t.throws(() => WRITERS[writer](dir, bad));
      assertCoded(t, error, TypeError, 'ERR_INVALID_ARG_TYPE', message, String(message));
    }
    t.false(fs.existsSync(dir));
  });
}

/** Inputs swing-store's writers accept: each is called fresh for each writer. */
const ACCEPTED = [
  ['an array of Buffers', () => [Buffer.from('a'), Buffer.from('bc')]],
  ['an array of Uint8Arrays', () => [new Uint8Array([104, 105])]],
  ['an array of strings', () => ['item\n', 'é\n']],
  ['an empty array', () => []],
  ['a string', () => 'whole'],
  ['an empty string', () => ''],
  ['a Set of Buffers', () => new Set([Buffer.from('s')])],
  ['an array of other ArrayBuffer views', () => [new Uint16Array([0x4141]), new DataView(new ArrayBuffer(2))]],
  ['an async generator of Buffers', () => (async function* chunks() { yield Buffer.from('x'); yield Buffer.from('y'); })()],
];

test("the archive writers write swing-store's bytes for every input swing-store's accept", async t => {
  for (const writer of Object.keys(WRITERS)) {
    const ours = tmpDir(t, 'lib-arguments-ours');
    const ref = tmpDir(t, 'lib-arguments-ref');
    const archives = { ours: WRITERS[writer](ours, powers), ref: theirs[writer](ref, powers) };
    for (const [i, [label, data]] of ACCEPTED.entries()) {
      await archives.ref(`a${i}`, data());
      await archives.ours(`a${i}`, data());
      const [mine, expected] = [ours, ref].map(dir => fs.readFileSync(path.join(dir, `a${i}.gz`)));
      t.true(mine.equals(expected), `${writer}: ${label}`);
    }
    t.deepEqual(filesUnder(ours), filesUnder(ref), writer);
  }
});

test('the archive writers take one Uint8Array as a single chunk', async t => {
  // swing-store would iterate its bytes and throw an uncaught exception from the stream's write.
  const dir = tmpDir(t, 'lib-arguments');
  await makeArchiveSnapshot(dir, powers)('snap', new Uint8Array([1, 2, 3]));
  await makeArchiveTranscript(dir, powers)('span', new Uint8Array([104, 105]));
  t.deepEqual([...fs.readFileSync(path.join(dir, 'snap.gz'))], [1, 2, 3]);
  t.is(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'span.gz'))).toString(), 'hi');
});

// --------------------------------------------------------------------------- internal.db ---

/** Ours and swing-store's in-memory stores, closed when `t` ends. */
const openPair = t => {
  const pair = { ours: initSwingStore(null), ref: theirs.initSwingStore(null) };
  t.teardown(async () => {
    for (const store of Object.values(pair)) await outcome(() => store.hostStorage.close());
  });
  return pair;
};

test('internal.db.pragma takes the arguments better-sqlite3 takes and refuses the rest with ERR_INVALID_ARG_TYPE', async t => {
  const pair = openPair(t);
  const calls = [
    ['user_version', null],
    ['user_version', undefined],
    ['user_version', { simple: true }],
    ['user_version', {}],
    [Symbol('pragma')],
    [5],
    ['user_version', 5],
    ['user_version', 'simple'],
    ['user_version', { simple: 'yes' }],
    ['user_version', { simple: undefined }],
  ];
  for (const args of calls) {
    const label = args.map(arg => (typeof arg === 'symbol' ? 'Symbol()' : JSON.stringify(arg))).join(', ');
    const ref = await outcome(() => pair.ref.internal.db.pragma(...args));
    const mine = await outcome(() => pair.ours.internal.db.pragma(...args));
    t.is(mine.ok, ref.ok, label);
    if (ref.ok) t.deepEqual(mine.value, ref.value, label);
    else assertCoded(t, mine.error, TypeError, 'ERR_INVALID_ARG_TYPE', /^internal\.db\.pragma\(source, options\): (source|options|options\.simple) must be/, label);
  }
});

test('internal.db.prepare refuses a statement that is not a string with ERR_INVALID_ARG_TYPE', t => {
  const { db } = openPair(t).ours.internal;
  for (const source of [undefined, 5, Symbol('sql'), {}]) {
    const error = t.throws(() => db.prepare(source));
    assertCoded(t, error, TypeError, 'ERR_INVALID_ARG_TYPE', /^internal\.db\.prepare\(source\): source must be a string/, String(typeof source));
  }
});

test("after the store closes, internal.db's prepare, pragma and statements throw better-sqlite3's TypeError, coded ERR_CLOSED", async t => {
  const pair = openPair(t);
  const statements = {};
  for (const [side, store] of Object.entries(pair)) {
    statements[side] = store.internal.db.prepare('SELECT count(*) FROM kvStore');
    await store.hostStorage.close();
  }
  const calls = [
    ['prepare', db => db.prepare('SELECT 1')],
    ['pragma', db => db.pragma('user_version')],
    ['a statement prepared before', (_db, statement) => statement.all()],
  ];
  for (const [label, call] of calls) {
    const ref = await outcome(() => call(pair.ref.internal.db, statements.ref));
    const mine = await outcome(() => call(pair.ours.internal.db, statements.ours));
    t.false(ref.ok, label);
    assertCoded(t, mine.error, TypeError, 'ERR_CLOSED', new RegExp(`^${ref.error.message}$`), label);
  }
});

// ------------------------------------------------------------------- providers and timing ---

test('measureSeconds rejects something that is not a function with ERR_INVALID_ARG_TYPE', async t => {
  const { measureSeconds } = makeSnapStoreIO();
  for (const fn of [undefined, 5, 'work', {}]) {
    const { ok, error } = await outcome(() => measureSeconds(fn));
    t.false(ok);
    assertCoded(t, error, TypeError, 'ERR_INVALID_ARG_TYPE', /^measureSeconds\(fn\): fn must be a function/, String(fn));
  }
  t.like(await measureSeconds(() => 'done'), { result: 'done' });
});

test('importBundle, populateSnapshot and populateTranscriptSpan reject a provider that is not a function with ERR_INVALID_ARG_TYPE, changing nothing', async t => {
  const { ours } = openPair(t);
  const { snapStore, transcriptStore } = ours.internal;
  const bundleStore = makeBundleStore(ours.internal.db);
  const before = JSON.stringify(ours.debug.dump());
  const calls = [
    ['importBundle', /^importBundle\(name, dataProvider\): dataProvider must be a function/, bad => bundleStore.importBundle(`bundle.b1-${'0'.repeat(128)}`, bad)],
    ['populateSnapshot', /^populateSnapshot\(name, makeChunkIterator, options\): makeChunkIterator must be a function/, bad => snapStore.populateSnapshot('snapshot.v1.2', bad, { artifactMode: 'operational' })],
    [
      'populateTranscriptSpan',
      /^populateTranscriptSpan\(name, makeChunkIterator, options\): makeChunkIterator must be a function/,
      bad => transcriptStore.populateTranscriptSpan('transcript.v1.0.2', bad, { artifactMode: 'operational' }),
    ],
  ];
  for (const [label, message, call] of calls) {
    for (const bad of [undefined, [Buffer.from('a')], 'data']) {
      const { ok, error } = await outcome(() => call(bad));
      t.false(ok, label);
      assertCoded(t, error, TypeError, 'ERR_INVALID_ARG_TYPE', message, `${label} with ${typeof bad}`);
    }
  }
  t.is(JSON.stringify(ours.debug.dump()), before);
});

// --------------------------------------------------------------------- readUpgradeOutcomes ---

test("readUpgradeOutcomes refuses a kpStatus that is none of the kernel's statuses with ERR_INVALID_ARG_VALUE, before reading any resolution", t => {
  const { ours } = openPair(t);
  const { kvStore } = ours.kernelStorage;
  const queued = [
    { vatID: 'v1', name: 'first', bundleID: 'b1-x', kpid: 'kp40' },
    { vatID: 'v2', name: 'second', bundleID: 'b1-y', kpid: 'kp41' },
  ];
  for (const [label, answer, shown] of [
    ['a WeakMap', new WeakMap(), 'an object'],
    ['NaN', NaN, 'the number NaN'],
    ['a misspelt status', 'fulfiled', 'the string "fulfiled"'],
    ['undefined', undefined, 'undefined'],
  ]) {
    const resolutionsRead = [];
    const controller = {
      kpStatus: kpid => (kpid === 'kp41' ? answer : 'fulfilled'),
      kpResolution: kpid => {
        resolutionsRead.push(kpid);
        return { body: '#{"incarnationNumber":1}', slots: [] };
      },
    };
    const error = t.throws(() => readUpgradeOutcomes(controller, kvStore, queued));
    assertCoded(t, error, Error, 'ERR_INVALID_ARG_VALUE', new RegExp(`^controller\\.kpStatus\\("kp41"\\) returned ${shown},`), label);
    t.deepEqual(resolutionsRead, [], `${label}: the first kpid's resolution stays unread`);
  }
});
