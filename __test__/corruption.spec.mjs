// Damaged stores: a malformed refCount, a retained vatParameters that is not JSON, and a
// damaged database file. Every operation that touches the damage fails with a coded error
// naming the key or the file and changes nothing; the audit reports the damage.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KernelStore, auditRefcounts, openSwingStore } from '../lib/index.mjs';
import { tmpDir } from './support/files.mjs';

const cli = fileURLToPath(new URL('../bin/kernel-store.mjs', import.meta.url));

const capdata = (...slots) => ({
  body: `#[${slots.map((_, i) => JSON.stringify(`$${i}.Alleged: o`)).join(',')}]`,
  slots,
});

/**
 * A committed kernel-shaped store: v1 retains vatParameters holding ko1, v2 is live with no
 * references, ko2 is unreferenced. `damage` then overwrites one key, committed, as a buggy
 * writer or a bad disk would leave it.
 */
const damagedStore = (t, key, value) => {
  const dir = tmpDir(t, 'corruption');
  const store = KernelStore.open(dir);
  const kv = store.kvStore;
  kv.set('vats.terminated', '[]');
  kv.set('vat.names', '[]');
  kv.set('vat.dynamicIDs', '["v1","v2"]');
  for (const vat of ['v1', 'v2']) {
    kv.set(`${vat}.options`, `{"name":"${vat}"}`);
    kv.set(`${vat}.o.nextID`, '1');
    kv.set(`${vat}.source`, '{"bundleID":"b1-00"}');
  }
  kv.set('ko1.refCount', '0,0');
  kv.set('ko2.refCount', '0,0');
  store.createVat('v1', { vatParameters: capdata('ko1') });
  store.createVat('v2', { vatParameters: capdata() });
  kv.set(key, value);
  store.commit();
  t.teardown(() => store.closed || store.close());
  return { dir, store };
};

/** What a failed call must leave exactly as it was. */
const observe = store => ({ kv: store.dumpKv(), activityhash: store.getActivityhash() });

const refusesNamingKey = (t, store, call, key) => {
  const before = observe(store);
  const err = t.throws(call, { instanceOf: Error });
  t.is(err.code, 'ERR_CORRUPT_VALUE', err.message);
  t.true(err.message.includes(JSON.stringify(key)), `${err.message} names ${key}`);
  t.deepEqual(observe(store), before, 'nothing changed');
};

// An empty value is not among them: the kernel reads '' as absent (a zero count), and so do we.
const MALFORMED_REFCOUNTS = ['garbage', '1', '1,2,3', '-1,0', '1.5,2', ' 1,1'];

for (const value of MALFORMED_REFCOUNTS) {
  test(`a malformed object refCount (${JSON.stringify(value)}) fails every refcount call on it, naming the key`, t => {
    const { store } = damagedStore(t, 'ko1.refCount', value);
    refusesNamingKey(t, store, () => store.getObjectRefCount('ko1'), 'ko1.refCount');
    refusesNamingKey(t, store, () => store.incrementRefCount('ko1', 'test'), 'ko1.refCount');
    refusesNamingKey(t, store, () => store.decrementRefCount('ko1', 'test'), 'ko1.refCount');
  });
}

test('a malformed object refCount fails the vatParameters lifecycle calls that count it, naming the key', t => {
  const { store } = damagedStore(t, 'ko1.refCount', '1,x');
  refusesNamingKey(t, store, () => store.setVatParameters('v2', capdata('ko1')), 'ko1.refCount');
  refusesNamingKey(t, store, () => store.upgradeVat('v1', { vatParameters: capdata('ko2') }), 'ko1.refCount');
  refusesNamingKey(t, store, () => store.terminateVat('v1'), 'ko1.refCount');
});

test('a malformed object refCount leaves calls on other objects working', t => {
  const { store } = damagedStore(t, 'ko1.refCount', 'garbage');
  store.setVatParameters('v2', capdata('ko2'));
  t.like(store.getObjectRefCount('ko2'), { reachable: 1, recognizable: 1 });
});

test('a malformed promise refCount fails the calls on it, naming the key', t => {
  const { store } = damagedStore(t, 'kp7.refCount', 'seven');
  refusesNamingKey(t, store, () => store.incrementRefCount('kp7', 'test'), 'kp7.refCount');
  refusesNamingKey(t, store, () => store.decrementRefCount('kp7', 'test'), 'kp7.refCount');
});

test('the audit reports a malformed refCount, naming the key', t => {
  const { dir } = damagedStore(t, 'ko1.refCount', 'garbage');
  const report = auditRefcounts(dir);
  const finding = report.errors.find(f => f.kind === 'malformed');
  t.truthy(finding, JSON.stringify(report.errors));
  t.is(finding.key, 'ko1.refCount');
});

// As with refCounts, the kernel reads an empty value as absent: a vat with none retained.
const NON_JSON_VATPARAMETERS = ['{"body":', 'not json', '{"body":"#null","slots":"ko1"}', '[]'];

for (const value of NON_JSON_VATPARAMETERS) {
  test(`a retained vatParameters that is not capdata JSON (${JSON.stringify(value)}) fails the calls that read it, naming the key`, t => {
    const { store } = damagedStore(t, 'v1.vatParameters', value);
    refusesNamingKey(t, store, () => store.getVatParameters('v1'), 'v1.vatParameters');
    refusesNamingKey(t, store, () => store.upgradeVat('v1', {}), 'v1.vatParameters');
    refusesNamingKey(t, store, () => store.upgradeVat('v1', { vatParameters: capdata('ko2') }), 'v1.vatParameters');
    refusesNamingKey(t, store, () => store.setVatParameters('v1', capdata('ko2')), 'v1.vatParameters');
    refusesNamingKey(t, store, () => store.terminateVat('v1'), 'v1.vatParameters');
  });
}

test('upgrade-all planning lists a vat with unreadable vatParameters as ineligible, naming the key', t => {
  const { store } = damagedStore(t, 'v1.vatParameters', 'not json');
  const plan = store.planUpgradeAll();
  t.deepEqual(plan.eligible.map(v => v.vatID), ['v2']);
  const [v1] = plan.ineligible;
  t.is(v1.vatID, 'v1');
  t.true(v1.reason.includes('v1.vatParameters'), v1.reason);
});

test('the audit reports a retained vatParameters that is not JSON, naming the key', t => {
  const { dir } = damagedStore(t, 'v1.vatParameters', 'not json');
  const report = auditRefcounts(dir);
  const finding = report.errors.find(f => f.kind === 'malformed');
  t.truthy(finding, JSON.stringify(report));
  t.is(finding.key, 'v1.vatParameters');
});

/** A committed store of a few MB, closed, with `damage(file)` applied to its database file. */
const damagedFile = (t, damage) => {
  const dir = tmpDir(t, 'corruption');
  const store = KernelStore.open(dir);
  for (let i = 0; i < 20_000; i += 1) store.kvStore.set(`kernel.k${String(i).padStart(5, '0')}`, 'x'.repeat(100));
  store.commit();
  store.close();
  const file = path.join(dir, 'swingstore.sqlite');
  damage(file);
  return { dir, file };
};
const truncateToHalf = file => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
const overwriteMiddlePages = file => {
  const fd = fs.openSync(file, 'r+');
  const middle = Math.floor(fs.statSync(file).size / 2 / 4096) * 4096;
  fs.writeSync(fd, Buffer.alloc(8192, 0xab), 0, 8192, middle);
  fs.closeSync(fd);
};

const refusesNamingFile = (t, call, file) => {
  const err = t.throws(call, { instanceOf: Error });
  t.is(err.code, 'ERR_CORRUPT', err.message);
  t.true(err.message.includes(file), `${err.message} names ${file}`);
};

test('a truncated database file is refused at open, naming the file, by writers and read-only openers', t => {
  const { dir, file } = damagedFile(t, truncateToHalf);
  refusesNamingFile(t, () => KernelStore.open(dir), file);
  refusesNamingFile(t, () => KernelStore.open(dir, { readonly: true }), file);
  refusesNamingFile(t, () => openSwingStore(dir), file);
});

test('a refused open of a damaged file leaves no writer lock behind', t => {
  const { dir, file } = damagedFile(t, truncateToHalf);
  refusesNamingFile(t, () => KernelStore.open(dir), file);
  refusesNamingFile(t, () => KernelStore.open(dir), file);
  // A writer lock left behind is never released: a writer on the directory, once the damaged
  // file is gone, would fail with ERR_STORE_BUSY (however long it waited) instead of opening.
  fs.rmSync(file);
  t.notThrows(() => KernelStore.open(dir).close());
});

test('damage found after open (a scan reaching overwritten pages) fails the read naming the file', t => {
  const { dir, file } = damagedFile(t, overwriteMiddlePages);
  const store = KernelStore.open(dir);
  t.teardown(() => store.close());
  refusesNamingFile(
    t,
    () => {
      for (let key = store.kvStore.getNextKey(''); key !== undefined; key = store.kvStore.getNextKey(key));
    },
    file,
  );
});

test('the audit of a damaged database file fails naming the file, and the CLI exits 2', t => {
  const { dir, file } = damagedFile(t, truncateToHalf);
  refusesNamingFile(t, () => auditRefcounts(dir), file);
  const r = spawnSync(process.execPath, [cli, 'audit', dir], { encoding: 'utf8' });
  t.is(r.status, 2, r.stderr);
  t.true(r.stderr.includes(file), r.stderr);
  t.regex(r.stderr, /ERR_CORRUPT/);
});
