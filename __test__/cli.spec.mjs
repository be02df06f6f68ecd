// The kernel-store command on stores written by @agoric/swing-store and by ours.
import '@endo/init/debug.js';
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initSwingStore as initTheirs } from '@agoric/swing-store';
import { initSwingStore as initOurs } from '../lib/index.mjs';

const cli = fileURLToPath(new URL('../bin/kernel-store.mjs', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const tmpDir = label => fs.mkdtempSync(path.join(os.tmpdir(), `cli-${label}-`));

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
    const dir = tmpDir(label);
    await writeKernelState(init, dir);
    const r = run('vat-params', dir);
    t.is(r.status, 0, r.stderr);
    t.regex(r.stdout, /v1 \(bootstrap\): \{\n {2}argv: \[\]\n\}/);
    t.regex(r.stdout, /v2 \(legacy\): no retained vatParameters \(legacy vat/);
    t.regex(r.stdout, /v6 \(dynamic\): \{\n {2}marker: <ko27 marker>,\n {2}number: 1\n\}/);
  });

  test(`upgrade-plan splits live vats by eligibility (store written by ${label})`, async t => {
    const dir = tmpDir(label);
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
  const dir = tmpDir('readonly');
  await writeKernelState(initTheirs, dir);
  const file = path.join(dir, 'swingstore.sqlite');
  const before = fs.readFileSync(file);
  t.is(run('vat-params', dir).status, 0);
  t.is(run('upgrade-plan', dir).status, 0);
  t.deepEqual(fs.readFileSync(file), before);
});

test('vat-params for one vat shows only that vat', async t => {
  const dir = tmpDir('one');
  await writeKernelState(initOurs, dir);
  const r = run('vat-params', dir, 'v6', '--json');
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), [{ vatID: 'v6', name: 'dynamic', vatParameters: marker, retained: true }]);
});

test('a missing directory is a clear error with exit status 2 and is not created', t => {
  const missing = path.join(tmpDir('missing'), 'nope');
  const r = run('vat-params', missing);
  t.is(r.status, 2);
  t.regex(r.stderr, /cannot open .*nope.*swingstore\.sqlite does not exist/);
  t.false(fs.existsSync(missing));
});

test('a directory whose swingstore.sqlite is not a database is a clear error with exit status 2', t => {
  const dir = tmpDir('garbage');
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
