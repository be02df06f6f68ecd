// Behaviour specs for our KernelStore kvStore and crank API (no swing-store involved).
import test from 'ava';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpDir as tmpDirOf } from './support/files.mjs';

const require = createRequire(import.meta.url);
const { KernelStore } = require('../index.js');

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const tmpDir = t => tmpDirOf(t, 'kvstore-spec');

/** Every key from the first, via getNextKey. */
const allKeys = kv => {
  const keys = [];
  for (let k = kv.getNextKey(''); k !== undefined; k = kv.getNextKey(k)) keys.push(k);
  return keys;
};

/** UTF-8 byte order, as SQLite's BINARY collation sorts TEXT. */
const utf8Order = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

test('get of a missing key returns undefined (not null) on every facet, and has returns false', t => {
  const ks = KernelStore.open(null);
  for (const kv of [ks.kvStore, ks.hostKvStore, ks.internalKvStore]) {
    t.is(kv.get('kernel.missing'), undefined);
    t.is(kv.get('host.missing'), undefined);
    t.is(kv.has('kernel.missing'), false);
    t.is(kv.getNextKey(''), undefined);
  }
  ks.kvStore.set('kernel.a', '1');
  ks.kvStore.delete('kernel.a');
  t.is(ks.kvStore.get('kernel.a'), undefined);
  t.true(ks.kvStore.get('kernel.a') !== null);
  ks.close();
});

test("a key whose value is '' exists: has is true and get returns ''", t => {
  const dir = tmpDir(t);
  const ks = KernelStore.open(dir);
  ks.kvStore.set('kernel.empty', '');
  ks.kvStore.set('', 'empty key');
  ks.hostKvStore.set('host.empty', '');
  t.true(ks.kvStore.has('kernel.empty'));
  t.is(ks.kvStore.get('kernel.empty'), '');
  t.true(ks.kvStore.has(''));
  t.is(ks.kvStore.get(''), 'empty key');
  t.true(ks.hostKvStore.has('host.empty'));
  ks.commit();
  ks.close();
  // and after a commit and reopen
  const again = KernelStore.open(dir);
  t.true(again.kvStore.has('kernel.empty'));
  t.is(again.kvStore.get('kernel.empty'), '');
  t.true(again.kvStore.has(''));
  t.is(again.hostKvStore.get('host.empty'), '');
  again.close();
});

test('getNextKey follows UTF-8 byte order (not UTF-16 order), uncommitted, committed and mixed', t => {
  const expected = ['A', 'a', 'a\uE000', 'a\uFFFF', 'a😀', 'z', 'é', '€', '😀'];
  t.deepEqual([...expected].sort(utf8Order), expected, 'the expectation is UTF-8 byte order');
  t.notDeepEqual([...expected].sort(), expected, 'and differs from JS (UTF-16) order');
  const scrambled = ['😀', 'a😀', 'z', 'A', '€', 'a\uFFFF', 'é', 'a', 'a\uE000'];

  const dir = tmpDir(t);
  const ks = KernelStore.open(dir);
  // half committed, half in the open transaction
  for (const k of scrambled.slice(0, 4)) ks.kvStore.set(k, `v${k}`);
  t.deepEqual(allKeys(ks.kvStore), expected.filter(k => scrambled.slice(0, 4).includes(k)));
  ks.commit();
  for (const k of scrambled.slice(4)) ks.kvStore.set(k, `v${k}`);
  t.deepEqual(allKeys(ks.kvStore), expected, 'committed + uncommitted');
  t.is(ks.kvStore.getNextKey('z'), 'é');
  t.is(ks.kvStore.getNextKey('é'), '€');
  t.is(ks.kvStore.getNextKey('€'), '😀');
  t.is(ks.kvStore.getNextKey('a\uFFFF'), 'a😀');
  t.is(ks.kvStore.getNextKey('a😀'), 'z');
  ks.commit();
  t.deepEqual(allKeys(ks.kvStore), expected, 'all committed');
  t.deepEqual(ks.dumpKv().map(([k]) => k), expected, 'dumpKv uses the same order');
  ks.close();
  const again = KernelStore.open(dir);
  t.deepEqual(allKeys(again.kvStore), expected, 'after reopen');
  again.close();
});

test('getNextKey returns the smallest key strictly greater than its argument', t => {
  const ks = KernelStore.open(null);
  for (const k of ['b', 'd', 'd.1', 'f']) ks.kvStore.set(k, '1');
  t.is(ks.kvStore.getNextKey(''), 'b');
  t.is(ks.kvStore.getNextKey('a'), 'b');
  t.is(ks.kvStore.getNextKey('b'), 'd', 'not b itself');
  t.is(ks.kvStore.getNextKey('c'), 'd');
  t.is(ks.kvStore.getNextKey('d'), 'd.1');
  t.is(ks.kvStore.getNextKey('d.1'), 'f');
  t.is(ks.kvStore.getNextKey('f'), undefined);
  t.is(ks.kvStore.getNextKey('zzz'), undefined);
  // an empty key is a real key too, and '' still means "from the start"
  ks.kvStore.set('', 'x');
  t.is(ks.kvStore.getNextKey(''), 'b');
  ks.close();
});

test('getNextKey skips deleted keys across long runs of deletions (committed and uncommitted)', t => {
  const dir = tmpDir(t);
  const ks = KernelStore.open(dir);
  const kv = ks.kvStore;
  const key = i => `kernel.k.${String(i).padStart(4, '0')}`;
  const N = 1000;
  for (let i = 0; i < N; i += 1) kv.set(key(i), String(i));
  ks.commit();
  // survivors: every 150th key, plus the last one
  const keep = new Set([0, 150, 300, 450, 600, 750, 900, 999]);
  // delete committed keys (now tombstones over committed rows) in a scattered order
  for (let i = N - 1; i >= 0; i -= 1) if (!keep.has(i) && i % 2 === 0) kv.delete(key(i));
  for (let i = 0; i < N; i += 1) if (!keep.has(i) && i % 2 === 1) kv.delete(key(i));
  // and some keys created and deleted within the same block
  for (let i = 0; i < 300; i += 1) kv.set(`kernel.k.0150.${i}`, 'tmp');
  for (let i = 0; i < 300; i += 1) kv.delete(`kernel.k.0150.${i}`);
  const expected = [...keep].sort((a, b) => a - b).map(key);
  t.deepEqual(allKeys(kv), expected, 'uncommitted deletions');
  t.is(kv.getNextKey(key(1)), key(150));
  t.is(kv.getNextKey(key(150)), key(300));
  t.is(kv.getNextKey(key(999)), undefined);
  ks.commit();
  t.deepEqual(allKeys(kv), expected, 'committed deletions');

  // inside a crank: deletions rolled back reappear, deletions kept stay gone
  ks.startCrank();
  ks.establishCrankSavepoint('s');
  for (const i of keep) kv.delete(key(i));
  t.deepEqual(allKeys(kv), []);
  ks.rollbackCrank('s');
  t.deepEqual(allKeys(kv), expected);
  kv.delete(key(150));
  ks.endCrank();
  t.deepEqual(allKeys(kv), expected.filter(k => k !== key(150)));
  ks.commit();
  ks.close();
  const again = KernelStore.open(dir);
  t.deepEqual(allKeys(again.kvStore), expected.filter(k => k !== key(150)), 'after reopen');
  again.close();
});

const NON_STRINGS = [1, null, undefined, {}, true, Symbol('s'), 12n, ['a'], () => 'a'];

test('non-string key, value or previousKey throws TypeError ERR_INVALID_ARG_TYPE and changes nothing', t => {
  const rows = [];
  const ks = KernelStore.open(null, { exportCallback: r => rows.push(r) });
  ks.kvStore.set('kernel.k', 'v');
  ks.hostKvStore.set('host.k', 'v');
  ks.startCrank();
  const before = ks.dumpKv();
  const expectTypeError = (fn, message) => {
    const err = t.throws(fn, { instanceOf: TypeError, message });
    t.is(err.code, 'ERR_INVALID_ARG_TYPE');
  };
  const facets = [
    [ks.kvStore, 'kernel.k'],
    [ks.hostKvStore, 'host.k'],
    [ks.internalKvStore, 'kernel.k'],
  ];
  for (const [kv, goodKey] of facets) {
    for (const bad of NON_STRINGS) {
      expectTypeError(() => kv.get(bad), 'key must be a string');
      expectTypeError(() => kv.has(bad), 'key must be a string');
      expectTypeError(() => kv.delete(bad), 'key must be a string');
      expectTypeError(() => kv.set(bad, 'v2'), 'key must be a string');
      expectTypeError(() => kv.set(goodKey, bad), 'value must be a string');
      expectTypeError(() => kv.getNextKey(bad), 'previousKey must be a string');
    }
    expectTypeError(() => kv.set(goodKey), 'value must be a string');
    expectTypeError(() => kv.get(), 'key must be a string');
    expectTypeError(() => kv.getNextKey(), 'previousKey must be a string');
  }
  t.deepEqual(ks.dumpKv(), before, 'kvStore unchanged');
  t.is(ks.emitCrankHashes().crankhash, EMPTY_SHA256, 'nothing was hashed');
  ks.endCrank();
  t.deepEqual(
    rows.flat().map(([k]) => k),
    ['kv.activityhash', 'kv.kernel.k'],
    'nothing was exported but the activityhash and the valid write',
  );
  ks.close();
});

test('the kernel facet refuses host keys with ERR_HOST_KEY_REFUSED', t => {
  const rows = [];
  const ks = KernelStore.open(null, { exportCallback: r => rows.push(r) });
  ks.hostKvStore.set('host.x', 'host value');
  ks.startCrank();
  const before = ks.dumpKv();
  for (const fn of [
    () => ks.kvStore.set('host.x', 'v'),
    () => ks.kvStore.set('host.', 'v'),
    () => ks.kvStore.set('host.new', ''),
    () => ks.kvStore.delete('host.x'),
    () => ks.kvStore.delete('host.absent'),
  ]) {
    const err = t.throws(fn, { instanceOf: Error, message: 'kernelKVStore refuses host keys' });
    t.is(err.code, 'ERR_HOST_KEY_REFUSED');
  }
  t.deepEqual(ks.dumpKv(), before);
  t.is(ks.emitCrankHashes().crankhash, EMPTY_SHA256);
  // 'host' without the dot, and other case, are consensus keys the kernel may write
  ks.kvStore.set('host', '1');
  ks.kvStore.set('Host.x', '2');
  ks.kvStore.set('hostx', '3');
  t.is(ks.kvStore.get('host'), '1');
  // the kernel can still read host keys
  t.is(ks.kvStore.get('host.x'), 'host value');
  t.true(ks.kvStore.has('host.x'));
  t.is(ks.kvStore.getNextKey('host'), 'host.x');
  ks.endCrank();
  t.false(rows.flat().some(([k]) => k.startsWith('kv.host.')));
  ks.close();
});

test('the host facet refuses non-host keys with ERR_HOST_KEY_REQUIRED', t => {
  const ks = KernelStore.open(null);
  ks.kvStore.set('kernel.x', '1');
  ks.kvStore.set('local.x', '1');
  const before = ks.dumpKv();
  for (const key of ['kernel.x', 'local.x', 'local.new', 'host', 'Host.x', '', 'activityhash']) {
    for (const fn of [() => ks.hostKvStore.set(key, 'v'), () => ks.hostKvStore.delete(key)]) {
      const err = t.throws(fn, { instanceOf: Error, message: 'hostKVStore requires host keys' });
      t.is(err.code, 'ERR_HOST_KEY_REQUIRED');
    }
  }
  t.deepEqual(ks.dumpKv(), before);
  // it reads everything
  t.is(ks.hostKvStore.get('kernel.x'), '1');
  t.is(ks.hostKvStore.get('local.x'), '1');
  ks.close();
});

const crankStateCases = [
  ['startCrank while already in a crank', ks => ks.startCrank(), ks => ks.startCrank()],
  ['establishCrankSavepoint outside of crank', () => {}, ks => ks.establishCrankSavepoint('a')],
  ['rollbackCrank outside of crank', () => {}, ks => ks.rollbackCrank('a')],
  ['endCrank outside of crank', () => {}, ks => ks.endCrank()],
];
for (const [message, setup, call] of crankStateCases) {
  test(`crank state error: "${message}" with code ERR_CRANK_STATE`, t => {
    const ks = KernelStore.open(null);
    setup(ks);
    const err = t.throws(() => call(ks), { instanceOf: Error, message });
    t.is(err.code, 'ERR_CRANK_STATE');
    ks.close();
  });
}

test('crank state errors also apply after a crank has ended', t => {
  const ks = KernelStore.open(null);
  ks.startCrank();
  ks.establishCrankSavepoint('a');
  ks.endCrank();
  t.throws(() => ks.rollbackCrank('a'), { message: 'rollbackCrank outside of crank', code: 'ERR_CRANK_STATE' });
  t.throws(() => ks.endCrank(), { message: 'endCrank outside of crank', code: 'ERR_CRANK_STATE' });
  ks.close();
});

test('rollbackCrank to an unknown name throws `no such savepoint as ""nope""` (ERR_NO_SUCH_SAVEPOINT) and changes nothing', t => {
  const ks = KernelStore.open(null);
  ks.startCrank();
  let err = t.throws(() => ks.rollbackCrank('nope'), { instanceOf: Error, message: 'no such savepoint as ""nope""' });
  t.is(err.code, 'ERR_NO_SUCH_SAVEPOINT');
  ks.establishCrankSavepoint('a');
  ks.kvStore.set('kernel.x', '1');
  err = t.throws(() => ks.rollbackCrank('nope'), { message: 'no such savepoint as ""nope""' });
  t.is(err.code, 'ERR_NO_SUCH_SAVEPOINT');
  t.throws(() => ks.rollbackCrank('x"y'), { message: 'no such savepoint as ""x\\"y""' });
  t.is(ks.kvStore.get('kernel.x'), '1', 'the failed rollback rolled nothing back');
  ks.rollbackCrank('a');
  t.is(ks.kvStore.get('kernel.x'), undefined, 'savepoint a still worked');
  err = t.throws(() => ks.rollbackCrank('a'), { message: 'no such savepoint as ""a""' });
  t.is(err.code, 'ERR_NO_SUCH_SAVEPOINT', 'a rolled-back savepoint is gone');
  ks.endCrank();
  ks.close();
});

test('after close, every method of the store and of its facets throws ERR_CLOSED', t => {
  const ks = KernelStore.open(null);
  const facets = [ks.kvStore, ks.hostKvStore, ks.internalKvStore];
  ks.kvStore.set('kernel.a', '1');
  t.false(ks.closed);
  ks.close();
  t.true(ks.closed);
  const laterFacets = [ks.kvStore, ks.hostKvStore, ks.internalKvStore];
  const calls = {
    startCrank: () => ks.startCrank(),
    establishCrankSavepoint: () => ks.establishCrankSavepoint('a'),
    rollbackCrank: () => ks.rollbackCrank('a'),
    endCrank: () => ks.endCrank(),
    emitCrankHashes: () => ks.emitCrankHashes(),
    getActivityhash: () => ks.getActivityhash(),
    commit: () => ks.commit(),
    close: () => ks.close(),
    dumpKv: () => ks.dumpKv(),
  };
  [...facets, ...laterFacets].forEach((kv, i) => {
    const host = i % 3 === 1;
    const key = host ? 'host.a' : 'kernel.a';
    Object.assign(calls, {
      [`facet${i}.get`]: () => kv.get(key),
      [`facet${i}.has`]: () => kv.has(key),
      [`facet${i}.getNextKey`]: () => kv.getNextKey(''),
      [`facet${i}.set`]: () => kv.set(key, 'v'),
      [`facet${i}.delete`]: () => kv.delete(key),
    });
  });
  for (const [name, call] of Object.entries(calls)) {
    const err = t.throws(call, { instanceOf: Error }, name);
    t.is(err.code, 'ERR_CLOSED', name);
  }
  t.true(ks.closed);
});

/** An on-disk store whose export callback throws `boom` once `fail()` has been called. */
const storeWithFailingCallback = t => {
  const dir = tmpDir(t);
  const boom = new Error('callback says no');
  let failing = false;
  const rows = [];
  const ks = KernelStore.open(dir, {
    exportCallback: r => {
      rows.push(r);
      if (failing) throw boom;
    },
  });
  return { dir, ks, boom, rows, fail: () => (failing = true) };
};

test('an export callback that throws during commit: commit throws the very error the callback threw', t => {
  const { ks, boom, rows, fail } = storeWithFailingCallback(t);
  ks.startCrank();
  ks.kvStore.set('kernel.a', '1');
  ks.endCrank(); // delivered fine
  ks.kvStore.set('kernel.late', '2'); // pending until commit
  fail();
  const err = t.throws(() => ks.commit());
  t.is(err, boom, 'the very error object the callback threw');
  t.is(err.message, 'callback says no');
  t.deepEqual(rows[rows.length - 1], [['kv.kernel.late', '2']], 'the callback did get the rows');
  ks.close();
});

test('an export callback that throws during commit: nothing is committed (checked by reopening)', t => {
  const { dir, ks, fail } = storeWithFailingCallback(t);
  ks.startCrank();
  ks.kvStore.set('kernel.a', '1');
  ks.emitCrankHashes();
  ks.endCrank(); // delivered fine
  ks.kvStore.set('kernel.late', '2'); // pending until commit
  ks.hostKvStore.set('host.h', '3');
  fail();
  t.throws(() => ks.commit());
  t.is(ks.kvStore.get('kernel.late'), '2', 'the open transaction still sees its writes');
  ks.close();
  const again = KernelStore.open(dir);
  t.deepEqual(again.dumpKv(), [], 'nothing was committed');
  t.is(again.getActivityhash(), '');
  again.close();
});

test('an export callback that throws during endCrank: endCrank throws the very error the callback threw', t => {
  const { ks, boom, fail } = storeWithFailingCallback(t);
  ks.startCrank();
  ks.kvStore.set('kernel.a', '1');
  fail();
  const err = t.throws(() => ks.endCrank());
  t.is(err, boom, 'the very error object the callback threw');
  ks.close();
});

/** An in-memory store inside a crank, and the export rows its callback has delivered. */
const crankRecordingExports = () => {
  const rows = [];
  const ks = KernelStore.open(null, { exportCallback: r => rows.push(r) });
  ks.startCrank();
  return { rows, ks };
};

test('local.* writes are neither crank-hashed nor exported', t => {
  const { rows, ks } = crankRecordingExports();
  ks.kvStore.set('local.kernelStats', '{"a":1}');
  ks.kvStore.set('local.', '');
  ks.kvStore.delete('local.gone');
  ks.kvStore.set('local.x', 'y');
  ks.kvStore.delete('local.x');
  const { crankhash, activityhash } = ks.emitCrankHashes();
  ks.endCrank();
  t.is(crankhash, EMPTY_SHA256);
  // activityhash = sha256("activityhash\n" + "" + "\n" + crankhash + "\n")
  const expected = crypto
    .createHash('sha256')
    .update(`activityhash\n\n${EMPTY_SHA256}\n`)
    .digest('hex');
  t.is(activityhash, expected);
  t.deepEqual(rows, [[['kv.activityhash', activityhash]]]);
  t.is(ks.kvStore.get('local.kernelStats'), '{"a":1}');
  ks.commit();
  t.is(rows.length, 1, 'nothing more at commit');
  ks.close();
});

test('host-facet and internal-facet writes are neither crank-hashed nor exported', t => {
  const { rows, ks } = crankRecordingExports();
  ks.hostKvStore.set('host.a', '1');
  ks.hostKvStore.delete('host.b');
  ks.internalKvStore.set('kernel.internal', '1');
  ks.internalKvStore.set('host.c', '1');
  ks.internalKvStore.delete('kernel.other');
  const { crankhash } = ks.emitCrankHashes();
  ks.endCrank();
  ks.commit();
  t.is(crankhash, EMPTY_SHA256);
  t.deepEqual(rows.flat().map(([k]) => k), ['kv.activityhash']);
  t.is(ks.kvStore.get('kernel.internal'), '1');
  t.is(ks.kvStore.get('host.c'), '1');
  ks.close();
});

test('a second writer on the same directory gets ERR_STORE_BUSY after the busy timeout, and the first is unaffected', t => {
  const dir = tmpDir(t);
  const first = KernelStore.open(dir);
  first.kvStore.set('kernel.first', '1');
  first.commit(); // idle between blocks: the store is still the first writer's
  const started = Date.now();
  const err = t.throws(() => KernelStore.open(dir), { instanceOf: Error });
  const waited = Date.now() - started;
  t.is(err.code, 'ERR_STORE_BUSY', err.message);
  t.regex(err.message, /already open for writing/);
  t.true(err.message.includes(dir), err.message);
  t.true(waited >= 4000, `waited for the busy timeout (${waited} ms)`);
  first.kvStore.set('kernel.first2', '2');
  first.commit();
  first.close();
  const again = KernelStore.open(dir);
  t.deepEqual(again.dumpKv(), [
    ['kernel.first', '1'],
    ['kernel.first2', '2'],
  ]);
  again.close();
});
