// Interchange: a database written by @agoric/swing-store opens in ours and vice versa, with
// identical kvStore contents, activityhash and schema.
import '@endo/init/debug.js';
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { initSwingStore, openSwingStore } from '@agoric/swing-store';
import { tmpDir as tmpDirOf } from './support/files.mjs';

const require = createRequire(import.meta.url);
const { KernelStore } = require('../index.js');

const tmpDir = t => tmpDirOf(t, 'interchange');
const dbFile = dir => path.join(dir, 'swingstore.sqlite');

/** swing-store's debug dump kvEntries (object or array) as an array of [key, value]. */
const refEntries = ss => {
  const { kvEntries } = ss.debug.dump();
  return Array.isArray(kvEntries) ? kvEntries.map(([k, v]) => [k, v]) : Object.entries(kvEntries);
};
const ourEntries = ks => ks.dumpKv().map(([k, v]) => [k, v]);

/** Every key via getNextKey, with its value. */
const scan = kv => {
  const out = [];
  for (let k = kv.getNextKey(''); k !== undefined; k = kv.getNextKey(k)) out.push([k, kv.get(k)]);
  return out;
};

/** One interface over both implementations (swing-store's commit/close return promises). */
const refSide = ss => ({
  kv: ss.kernelStorage.kvStore,
  hostKv: ss.hostStorage.kvStore,
  startCrank: () => ss.kernelStorage.startCrank(),
  establishCrankSavepoint: n => ss.kernelStorage.establishCrankSavepoint(n),
  rollbackCrank: n => ss.kernelStorage.rollbackCrank(n),
  emitCrankHashes: () => {
    const { crankhash, activityhash } = ss.kernelStorage.emitCrankHashes();
    return { crankhash, activityhash };
  },
  endCrank: () => ss.kernelStorage.endCrank(),
  getActivityhash: () => ss.kernelStorage.getActivityhash(),
  commit: () => ss.hostStorage.commit(),
  close: () => ss.hostStorage.close(),
  entries: () => refEntries(ss),
});
const ourSide = ks => ({
  kv: ks.kvStore,
  hostKv: ks.hostKvStore,
  startCrank: () => ks.startCrank(),
  establishCrankSavepoint: n => ks.establishCrankSavepoint(n),
  rollbackCrank: n => ks.rollbackCrank(n),
  emitCrankHashes: () => {
    const { crankhash, activityhash } = ks.emitCrankHashes();
    return { crankhash, activityhash };
  },
  endCrank: () => ks.endCrank(),
  getActivityhash: () => ks.getActivityhash(),
  commit: async () => ks.commit(),
  close: async () => ks.close(),
  entries: () => ourEntries(ks),
});

/** A first block: kernel initialisation style, then cranks with rollbacks, unicode, host keys. */
const firstBlock = async s => {
  const hashes = [];
  s.kv.set('kernelBundle', '{"moduleFormat":"endoZipBase64"}');
  s.kv.set('local.kernelStats', '{"crankNumber":0}');
  s.hostKv.set('host.chainSavedHeight', '42');
  hashes.push(s.emitCrankHashes()); // crank #0, outside any crank
  for (let crank = 1; crank <= 5; crank += 1) {
    s.startCrank();
    s.establishCrankSavepoint('start');
    s.kv.set(`v${crank}.o+d${crank}`, `{"é":"€${crank}","😀":"中文"}`);
    s.kv.set('kernel.crankNumber', String(crank));
    s.kv.set(`kernel.empty${crank}`, '');
    s.kv.set('local.kernelStats', `{"crankNumber":${crank}}`);
    if (crank % 2 === 0) s.kv.delete(`v${crank - 1}.o+d${crank - 1}`);
    s.establishCrankSavepoint('deliver');
    s.kv.set(`v${crank}.rolledback`, 'gone');
    if (crank === 3) {
      s.rollbackCrank('deliver');
    }
    s.kv.set(`clist.ko${crank}`, `v${crank}.𝒳`);
    hashes.push(s.emitCrankHashes());
    s.endCrank();
  }
  s.hostKv.set('host.height', '1');
  s.hostKv.set('host.é', '€');
  await s.commit();
  // a second block
  s.startCrank();
  s.kv.delete('kernel.empty1');
  s.kv.set('kernel.crankNumber', '6');
  s.kv.set('€uro', 'sign');
  s.kv.set('😀', 'emoji key');
  hashes.push(s.emitCrankHashes());
  s.endCrank();
  s.hostKv.set('host.height', '2');
  s.hostKv.delete('host.chainSavedHeight');
  await s.commit();
  return hashes;
};

/** A continuation block run on an existing store. */
const continuation = async s => {
  const hashes = [];
  s.startCrank();
  s.kv.set('kernel.crankNumber', '7');
  s.kv.delete('clist.ko2');
  s.kv.set('v9.new', 'ünïcödé');
  s.establishCrankSavepoint('x');
  s.kv.set('v9.tmp', 'tmp');
  s.rollbackCrank('x');
  hashes.push(s.emitCrankHashes());
  s.endCrank();
  s.startCrank();
  s.kv.set('local.kernelStats', '{"crankNumber":8}');
  s.kv.set('kernel.crankNumber', '8');
  hashes.push(s.emitCrankHashes());
  s.endCrank();
  s.hostKv.set('host.height', '3');
  await s.commit();
  return hashes;
};

test('(a) a database written by swing-store opens in ours with identical kvStore and activityhash', async t => {
  const dir = tmpDir(t);
  const ss = initSwingStore(dir);
  await firstBlock(refSide(ss));
  const expected = refEntries(ss);
  const activityhash = ss.kernelStorage.getActivityhash();
  await ss.hostStorage.close();
  t.true(expected.length > 20);

  const ks = KernelStore.open(dir);
  t.is(ks.dbPath, dbFile(dir));
  t.deepEqual(ourEntries(ks), expected, 'dumpKv');
  t.deepEqual(scan(ks.kvStore), expected, 'getNextKey/get scan');
  t.is(ks.getActivityhash(), activityhash);
  t.is(ks.hostKvStore.get('host.height'), '2');
  t.is(ks.kvStore.get('kernel.empty2'), '');
  t.true(ks.kvStore.has('kernel.empty2'));
  ks.close();
});

test('(b) a database written by ours opens in swing-store with identical kvStore and activityhash', async t => {
  const dir = tmpDir(t);
  const ks = KernelStore.open(dir);
  const ourHashes = await firstBlock(ourSide(ks));
  const expected = ourEntries(ks);
  const activityhash = ks.getActivityhash();
  ks.close();
  t.true(expected.length > 20);

  const ss = openSwingStore(dir);
  t.deepEqual(refEntries(ss), expected, 'swing-store dump');
  t.deepEqual(scan(ss.kernelStorage.kvStore), expected, 'getNextKey/get scan');
  t.is(ss.kernelStorage.getActivityhash(), activityhash);
  await ss.hostStorage.close();

  // and the same block run by swing-store itself gives the same hashes and contents
  const refDir = tmpDir(t);
  const ref = initSwingStore(refDir);
  const refHashes = await firstBlock(refSide(ref));
  t.deepEqual(ourHashes, refHashes, 'crank and activity hashes');
  t.deepEqual(refEntries(ref), expected, 'contents');
  await ref.hostStorage.close();
});

/** A new directory holding the first block, written and closed by swing-store. */
const swingStoreFirstBlock = async t => {
  const dir = tmpDir(t);
  const ss = initSwingStore(dir);
  await firstBlock(refSide(ss));
  await ss.hostStorage.close();
  return dir;
};

test('(c) continuing after interchange: swing-store DB, more cranks in ours, reopened by swing-store', async t => {
  const dir = await swingStoreFirstBlock(t);

  const ks = KernelStore.open(dir);
  await continuation(ourSide(ks));
  const oursAfter = ourEntries(ks);
  const oursHash = ks.getActivityhash();
  ks.close();

  const ss2 = openSwingStore(dir);
  t.deepEqual(refEntries(ss2), oursAfter, 'contents as ours reported them');
  t.is(ss2.kernelStorage.getActivityhash(), oursHash, 'activityhash as ours reported it');
  await ss2.hostStorage.close();
});

test('(c2) continuing in ours gives the same hashes and contents as continuing in swing-store', async t => {
  const dir = await swingStoreFirstBlock(t);
  const copy = tmpDir(t);
  fs.cpSync(dir, copy, { recursive: true });

  const ks = KernelStore.open(dir);
  const ourHashes = await continuation(ourSide(ks));
  const oursAfter = ourEntries(ks);
  ks.close();

  const ref = openSwingStore(copy);
  const refHashes = await continuation(refSide(ref));
  t.deepEqual(ourHashes, refHashes);
  t.deepEqual(oursAfter, refEntries(ref));
  await ref.hostStorage.close();
});

const readMaster = dir => {
  const db = new Database(dbFile(dir), { readonly: true, fileMustExist: true });
  try {
    return {
      master: db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master').all(),
      journalMode: db.pragma('journal_mode', { simple: true }),
      userVersion: db.pragma('user_version', { simple: true }),
      applicationId: db.pragma('application_id', { simple: true }),
    };
  } finally {
    db.close();
  }
};

/** What `readMaster` finds in a new store created by swing-store and in one created by ours. */
const newStoresRead = async t => {
  const refDir = tmpDir(t);
  const ourDir = tmpDir(t);
  const ss = initSwingStore(refDir);
  await ss.hostStorage.close();
  KernelStore.open(ourDir).close();
  return { ref: readMaster(refDir), ours: readMaster(ourDir) };
};

test('(d) sqlite_master of a store created by ours equals that of one created by swing-store', async t => {
  const { ref, ours } = await newStoresRead(t);
  t.true(ref.master.length >= 14, 'swing-store created its whole schema');
  t.deepEqual(ours.master, ref.master);
});

test('(d2) journal_mode (wal), user_version and application_id of a store created by ours match swing-store', async t => {
  const read = await newStoresRead(t);
  const { master: _m1, ...ref } = read.ref;
  const { master: _m2, ...ours } = read.ours;
  t.deepEqual(ours, ref);
  t.is(ours.journalMode, 'wal');
});

test('(e) uncommitted writes are not visible after close and reopen (ours)', async t => {
  const dir = tmpDir(t);
  const ks = KernelStore.open(dir);
  await firstBlock(ourSide(ks));
  const committed = ourEntries(ks);
  const committedHash = ks.getActivityhash();
  // an uncommitted block: crank writes, deletions, an emitted hash, host and local writes
  ks.startCrank();
  ks.kvStore.set('kernel.crankNumber', '99');
  ks.kvStore.set('v99.new', 'x');
  ks.kvStore.delete('clist.ko1');
  ks.kvStore.set('local.kernelStats', '{}');
  ks.emitCrankHashes();
  ks.endCrank();
  ks.hostKvStore.set('host.height', '99');
  t.not(ks.getActivityhash(), committedHash);
  t.notDeepEqual(ourEntries(ks), committed);
  ks.close();

  const again = KernelStore.open(dir);
  t.deepEqual(ourEntries(again), committed);
  t.is(again.getActivityhash(), committedHash);
  again.close();
  // swing-store sees the same committed state
  const ss = openSwingStore(dir);
  t.deepEqual(refEntries(ss), committed);
  await ss.hostStorage.close();
});

test('(f) a second store open on the writer\'s directory sees what the writer committed, as with swing-store', async t => {
  const run = async (open, side) => {
    const dir = tmpDir(t);
    const a = side(open(dir, true));
    const b = side(open(dir, false));
    const seen = [];
    const look = label => seen.push([label, b.kv.get('kernel.x'), b.kv.has('kernel.x'), b.kv.getNextKey('')]);
    look('before'); // b reads (and may cache) the absent key
    a.kv.set('kernel.x', '1');
    await a.commit();
    look('after first commit');
    a.kv.set('kernel.x', '2');
    await a.commit();
    look('after second commit');
    a.kv.delete('kernel.x');
    await a.commit();
    look('after delete');
    await a.close();
    await b.close();
    return seen;
  };
  const refSeen = await run((dir, first) => (first ? initSwingStore(dir) : openSwingStore(dir)), refSide);
  // Ours admits one writer per directory, so its second store is a read-only one.
  const ourSeen = await run(
    (dir, first) => KernelStore.open(dir, first ? undefined : { readonly: true }),
    ourSide,
  );
  t.deepEqual(refSeen, [
    ['before', undefined, false, undefined],
    ['after first commit', '1', true, 'kernel.x'],
    ['after second commit', '2', true, 'kernel.x'],
    ['after delete', undefined, false, undefined],
  ]);
  t.deepEqual(ourSeen, refSeen);
});
