// Adoption: existing JS SwingSet code adopts us with zero code change. A scratch host package
// (in a temp dir) depends on @agoric/swingset-vat and on this package, and maps
// @agoric/swing-store to this package with npm `overrides` (docs/adoption.md). Its own code
// (fixtures/adoption-host/host.mjs) imports `initSwingStore` from '@agoric/swing-store' and runs
// the kernel scenario on disk: create -> upgrade with vatParameters -> upgrade without ->
// terminate. The store it got must be ours (for the host and for swingset-vat), and the
// activityhashes must match demo/kernel-scenario.mjs run here on the real @agoric/swing-store.
import '@endo/init/debug.js';
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSwingStore, openSwingStore } from '@agoric/swing-store';
import { STEPS, startKernel, runStep } from '../demo/kernel-scenario.mjs';
import { NPM_INSTALL, npmEnv, tail } from './support/scratch-host.mjs';
import { makeProgress, runCommand } from './support/progress.mjs';
import { tmpDir } from './support/files.mjs';

const packageDir = fs.realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const fixtureDir = fileURLToPath(new URL('./fixtures/adoption-host/', import.meta.url));
const vatsDir = fileURLToPath(new URL('../demo/vats/', import.meta.url));
const scenario = fileURLToPath(new URL('../demo/kernel-scenario.mjs', import.meta.url));

/**
 * The install, the host's run and the reference run are long: each request npm logs, each
 * line a child prints and each kernel step here is progress (support/progress.mjs).
 */
const progress = makeProgress();
const run = (file, args, options) => runCommand(progress, file, args, options);

const sha256File = file => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Writes the scratch host into `hostDir`: package.json from the template, host.mjs, the demo's scenario and vats. */
const writeHost = hostDir => {
  const manifest = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'package.template.json'), 'utf8'));
  manifest.dependencies['swingset-kernel-store'] = `file:${packageDir}`;
  fs.mkdirSync(hostDir, { recursive: true });
  fs.writeFileSync(path.join(hostDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.copyFileSync(path.join(fixtureDir, 'host.mjs'), path.join(hostDir, 'host.mjs'));
  fs.copyFileSync(scenario, path.join(hostDir, 'kernel-scenario.mjs'));
  fs.cpSync(vatsDir, path.join(hostDir, 'vats'), { recursive: true });
};

/** The same scenario in this package, on the real @agoric/swing-store, on disk. */
const referenceRun = async storeDir => {
  const swingStore = initSwingStore(storeDir);
  const controller = await startKernel(swingStore, 'local');
  const afterBootstrap = swingStore.kernelStorage.getActivityhash();
  const steps = [];
  for (const step of STEPS) {
    const { status, resolution } = await runStep(controller, swingStore, step);
    steps.push({ step, status, resolution, activityhash: swingStore.kernelStorage.getActivityhash() });
    progress.tick();
  }
  await controller.shutdown();
  const finalActivityhash = swingStore.kernelStorage.getActivityhash();
  const hasKernelStore = 'kernelStore' in swingStore;
  await swingStore.hostStorage.close();
  const reopened = openSwingStore(storeDir);
  const reopenedActivityhash = reopened.kernelStorage.getActivityhash();
  await reopened.hostStorage.close();
  return { afterBootstrap, steps, finalActivityhash, reopenedActivityhash, hasKernelStore };
};

test('a swingset-vat host gets swingset-kernel-store through npm overrides, with identical activityhashes', async t => {
  progress.watch(t);
  const tmp = tmpDir(t, 'sks-adoption');
  const hostDir = path.join(tmp, 'host');
  writeHost(hostDir);
  const ourManifestHash = sha256File(path.join(packageDir, 'package.json'));

  // The reference run (in this process) overlaps the install and the host's run (children).
  const reference = referenceRun(path.join(tmp, 'reference-store'));

  const t0 = Date.now();
  // At the `http` log level npm prints each request: its progress, however slow the network.
  const install = await run('npm', [...NPM_INSTALL, '--loglevel=http'], {
    cwd: hostDir,
    env: npmEnv(),
  });
  t.is(install.code, 0, `npm install failed\n${tail(install)}`);
  t.log(`npm install: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // The installed tree: @agoric/swing-store is this package (a link to it), under its own name.
  const installed = path.join(hostDir, 'node_modules', '@agoric', 'swing-store');
  const installedManifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  t.is(installedManifest.name, 'swingset-kernel-store');
  t.is(fs.realpathSync(installed), packageDir);
  t.is(fs.realpathSync(path.join(hostDir, 'node_modules', 'swingset-kernel-store')), packageDir);
  const lock = JSON.parse(fs.readFileSync(path.join(hostDir, 'package-lock.json'), 'utf8'));
  t.like(lock.packages['node_modules/@agoric/swing-store'], { link: true });
  // Nothing else answers to the name: no nested real copy under swingset-vat.
  t.false(fs.existsSync(path.join(hostDir, 'node_modules', '@agoric', 'swingset-vat', 'node_modules', '@agoric', 'swing-store')));
  // Installing the host did not write into this package.
  t.is(sha256File(path.join(packageDir, 'package.json')), ourManifestHash);

  // microtime (swingset-vat's controller imports it) loads from its prebuilds without scripts.
  const micro = await run(process.execPath, ['-e', "process.stdout.write(String(require('microtime').nowDouble()))"], {
    cwd: hostDir,
  });
  t.is(micro.code, 0, `microtime does not load\n${tail(micro)}`);
  t.true(Number(micro.stdout) > 1e9);

  const t1 = Date.now();
  const host = await run(process.execPath, ['host.mjs', path.join(tmp, 'host-store')], { cwd: hostDir });
  t.is(host.code, 0, `the host failed\n${tail(host)}`);
  t.log(`host run: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  const line = host.stdout.split('\n').find(l => l.startsWith('ADOPTION-RESULT '));
  t.truthy(line, `the host printed no result\n${tail(host)}`);
  const ours = JSON.parse(line.slice('ADOPTION-RESULT '.length));

  // The store the host's code, and swingset-vat's code, got is ours.
  t.like(ours.swingStoreForHost, { name: 'swingset-kernel-store', dir: packageDir });
  t.like(ours.swingStoreForSwingsetVat, { name: 'swingset-kernel-store', dir: packageDir });
  t.true(ours.hasKernelStore);
  t.true(ours.isSwingStore);

  // The scenario did what it does on swing-store, with the same activityhashes.
  const theirs = await reference;
  t.false(theirs.hasKernelStore);
  t.deepEqual(
    ours.steps.map(({ step, status, resolution }) => ({ step, status, resolution })),
    [
      { step: 'create', status: 'fulfilled', resolution: 'vatParameters: number=1, marker=present' },
      { step: 'upgradeWithParameters', status: 'fulfilled', resolution: 'vatParameters: number=2, marker=present' },
      { step: 'upgradeWithoutParameters', status: 'fulfilled', resolution: 'vatParameters: undefined' },
      { step: 'terminate', status: 'fulfilled', resolution: 'terminated' },
    ],
  );
  t.is(ours.afterBootstrap, theirs.afterBootstrap);
  t.deepEqual(ours.steps, theirs.steps);
  t.is(ours.finalActivityhash, theirs.finalActivityhash);
  // What was committed to disk (read back after reopening) agrees too.
  t.is(ours.reopenedActivityhash, theirs.reopenedActivityhash);
  t.regex(ours.finalActivityhash, /^[0-9a-f]{64}$/);
});
