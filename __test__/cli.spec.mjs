// The kernel-store command on stores written by @agoric/swing-store and by ours.
import '@endo/init/debug.js';
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initSwingStore as initTheirs } from '@agoric/swing-store';
import { initSwingStore as initOurs } from '../lib/index.mjs';
import { tmpDir } from './support/files.mjs';

const cli = fileURLToPath(new URL('../bin/kernel-store.mjs', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

const marker = { body: '#{"marker":"$0.Alleged: marker","number":1}', slots: ['ko27'] };

/** A committed store holding the keys the kernel keeps for two static vats and a dynamic one. */
const writeKernelState = async (init, dir) => {
  const { kernelStorage, hostStorage } = init(dir);
  const kv = kernelStorage.kvStore;
  const entries = {
    'vat.names': '["bootstrap","legacy"]',
    'vat.name.bootstrap': 'v1',
    'vat.name.legacy': 'v2',
    'vat.dynamicIDs': '["v6"]',
    'vats.terminated': '[]',
    'v1.source': '{"bundleID":"b1-aaa"}',
    'v1.options': '{"name":"bootstrap"}',
    'v1.vatParameters': '{"body":"#{\\"argv\\":[]}","slots":[]}',
    'v2.source': '{"bundleID":"b1-bbb"}',
    'v2.options': '{"name":"legacy"}',
    'v6.source': '{"bundleID":"b1-ccc"}',
    'v6.options': '{"name":"dynamic"}',
    'v6.vatParameters': JSON.stringify(marker),
    'ko27.refCount': '1,1',
  };
  for (const [k, v] of Object.entries(entries)) kv.set(k, v);
  await hostStorage.commit();
  await hostStorage.close();
};

for (const [label, init] of [
  ['swing-store', initTheirs],
  ['ours', initOurs],
]) {
  test(`vat-params shows each live vat's retained vatParameters readably (store written by ${label})`, async t => {
    const dir = tmpDir(t, `cli-${label}`);
    await writeKernelState(init, dir);
    const r = run('vat-params', dir);
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /v1 \(bootstrap\): \{\n {2}argv: \[\]\n\}/);
    t.regex(r.stdout, /v2 \(legacy\): no retained vatParameters \(legacy vat/);
    t.regex(r.stdout, /v6 \(dynamic\): \{\n {2}marker: <ko27 marker>,\n {2}number: 1\n\}/);
  });

  test(`upgrade-plan splits live vats by eligibility (store written by ${label})`, async t => {
    const dir = tmpDir(t, `cli-${label}`);
    await writeKernelState(init, dir);
    const r = run('upgrade-plan', dir, '--json');
    t.is(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    t.deepEqual(
      plan.eligible.map(v => v.vatID),
      ['v1', 'v6'],
    );
    t.deepEqual(plan.eligible[1].vatParameters, marker);
    t.deepEqual(plan.eligible[1].source, { bundleID: 'b1-ccc' });
    t.deepEqual(
      plan.ineligible.map(v => [v.vatID, v.name]),
      [['v2', 'legacy']],
    );
  });
}

test('the command never writes: the store file is byte-identical afterwards', async t => {
  const dir = tmpDir(t, 'cli-readonly');
  await writeKernelState(initTheirs, dir);
  const file = path.join(dir, 'swingstore.sqlite');
  const before = fs.readFileSync(file);
  t.is(run('vat-params', dir).status, 0);
  t.is(run('upgrade-plan', dir).status, 0);
  t.deepEqual(fs.readFileSync(file), before);
});

test('vat-params for one vat shows only that vat', async t => {
  const dir = tmpDir(t, 'cli-one');
  await writeKernelState(initOurs, dir);
  const r = run('vat-params', dir, 'v6', '--json');
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), [{ vatID: 'v6', name: 'dynamic', vatParameters: marker, retained: true }]);
});

test('a missing directory is a clear error with exit status 2 and is not created', t => {
  const missing = path.join(tmpDir(t, 'cli-missing'), 'nope');
  const r = run('vat-params', missing);
  t.is(r.status, 2);
  t.regex(r.stderr, /cannot open .*nope.*swingstore\.sqlite does not exist/);
  t.false(fs.existsSync(missing));
});

test('a directory whose swingstore.sqlite is not a database is a clear error with exit status 2', t => {
  const dir = tmpDir(t, 'cli-garbage');
  fs.writeFileSync(path.join(dir, 'swingstore.sqlite'), 'not a database\n'.repeat(500));
  const r = run('upgrade-plan', dir);
  t.is(r.status, 2);
  t.regex(r.stderr, /cannot open .*ERR_CORRUPT/);
});

test('every command has --help', t => {
  for (const command of ['audit', 'vat-params', 'upgrade-plan', 'demo']) {
    const r = run(command, '--help');
    t.is(r.status, 0, command);
    t.regex(r.stdout, new RegExp(`usage: kernel-store ${command}`));
  }
  t.regex(run('--help').stdout, /commands:/);
});

test('an unknown command exits 2 with the usage', t => {
  const r = run('frobnicate');
  t.is(r.status, 2);
  t.regex(r.stderr, /unknown command frobnicate/);
});

/**
 * A committed store holding what the kernel keeps for vat-admin, comms, a bootstrap vat, a
 * dynamic vat and a terminated one it is still cleaning up, plus one installed bundle, whose
 * ID it returns.
 */
const writeUpgradeState = async (init, dir) => {
  const { kernelStorage, hostStorage } = init(dir);
  const bundle = { moduleFormat: 'nestedEvaluate', source: 'function getExport() { return {}; }' };
  const bundleID = `b0-${crypto.createHash('sha256').update(JSON.stringify(bundle)).digest('hex')}`;
  kernelStorage.bundleStore.addBundle(bundleID, bundle);
  const source = letter => JSON.stringify({ bundleID: `b1-${letter.repeat(128)}` });
  const entries = {
    'vat.names': '["bootstrap","vatAdmin","comms"]',
    'vat.name.bootstrap': 'v1',
    'vat.name.vatAdmin': 'v2',
    'vat.name.comms': 'v3',
    'vat.dynamicIDs': '["v6"]',
    'vats.terminated': '["v7"]',
    'v6.options': '{"name":"dynamic"}',
    'v7.options': '{"name":"gone"}',
    'v6.vatParameters': JSON.stringify(marker),
    'ko27.refCount': '1,1',
  };
  for (const [vatID, letter] of [['v1', 'a'], ['v2', 'b'], ['v3', 'c'], ['v6', 'd'], ['v7', 'e']]) {
    entries[`${vatID}.source`] = source(letter);
    entries[`${vatID}.vatParameters`] ??= '{"body":"#{}","slots":[]}';
  }
  for (const [k, v] of Object.entries(entries)) kernelStorage.kvStore.set(k, v);
  await hostStorage.commit();
  await hostStorage.close();
  return bundleID;
};

const planOf = (...args) => {
  const r = run('upgrade-plan', ...args, '--json');
  if (r.status !== 0) throw Error(r.stderr);
  const plan = JSON.parse(r.stdout);
  return {
    eligible: plan.eligible.map(({ vatID, name, bundleID }) => [vatID, name, bundleID]),
    ineligible: plan.ineligible.map(({ vatID, name, reason }) => [vatID, name, reason]),
  };
};

for (const [label, init] of [
  ['swing-store', initTheirs],
  ['ours', initOurs],
]) {
  test(`upgrade-plan leaves vatAdmin, comms and a still-listed terminated vat alone, with reasons (store written by ${label})`, async t => {
    const dir = tmpDir(t, `cli-plan-${label}`);
    await writeUpgradeState(init, dir);
    const { eligible, ineligible } = planOf(dir);
    t.deepEqual(eligible, [
      ['v1', 'bootstrap', `b1-${'a'.repeat(128)}`],
      ['v6', 'dynamic', `b1-${'d'.repeat(128)}`],
    ]);
    t.deepEqual(ineligible.map(([vatID, name]) => [vatID, name]), [['v2', 'vatAdmin'], ['v3', 'comms'], ['v7', 'gone']]);
    t.regex(ineligible[0][2], /^vatAdmin is never upgraded this way/);
    t.regex(ineligible[1][2], /^excluded by default/);
    t.regex(ineligible[2][2], /^terminated/);
  });
}

test('upgrade-plan --bundle maps a vat to an installed bundle, and --exclude replaces the default exclusion', async t => {
  const dir = tmpDir(t, 'cli-plan-options');
  const bundleID = await writeUpgradeState(initOurs, dir);
  const { eligible, ineligible } = planOf(dir, '--bundle', `dynamic=${bundleID}`, '--exclude', 'bootstrap');
  t.deepEqual(eligible, [
    ['v3', 'comms', `b1-${'c'.repeat(128)}`],
    ['v6', 'dynamic', bundleID],
  ]);
  t.deepEqual(ineligible.slice(0, 2), [
    ['v1', 'bootstrap', 'excluded by options.exclude ("bootstrap")'],
    ['v2', 'vatAdmin', ineligible[1][2]],
  ]);
});

test('upgrade-plan refuses a bundle the store does not hold, and an exclusion naming no vat, with exit status 2', async t => {
  const dir = tmpDir(t, 'cli-plan-refused');
  await writeUpgradeState(initTheirs, dir);
  const missing = run('upgrade-plan', dir, '--bundle', `v6=b1-${'0'.repeat(128)}`);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /options\.bundleIDs\["v6"\] is b1-0+, which the kernel's bundleStore does not hold .*\(ERR_BUNDLE_NOT_FOUND\)/);
  const unknown = run('upgrade-plan', dir, '--exclude', 'nobody');
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /options\.exclude names "nobody", which is no vatID or vat name this kernel lists \(ERR_UNKNOWN_VAT\)/);
});
