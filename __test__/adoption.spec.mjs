// Adoption: existing JS SwingSet code adopts us with zero code change. A scratch host package
// (in a temp dir) depends on @agoric/swingset-vat and on this package, and maps
// @agoric/swing-store to this package with npm `overrides` (docs/adoption.md). Its own code
// (fixtures/adoption-host/host.mjs) imports `initSwingStore` from '@agoric/swing-store' and runs
// the kernel scenario on disk: create -> upgrade with vatParameters -> upgrade without ->
// terminate. The store it got must be ours (for the host and for swingset-vat), and the
// activityhashes must match the same host installed without the override, on the real
// @agoric/swing-store.
//
// Both hosts are installed from the registry in the same run, so they get the same versions of
// everything else: bundles the kernel stores (and hashes) are built by whatever @endo and
// @babel versions npm picks today, and a patch release published since this package's lockfile
// was written changes them.
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NPM_INSTALL, npmEnv, provideBetterSqlite, tail } from './support/scratch-host.mjs';
import { makeProgress, runCommand } from './support/progress.mjs';
import { tmpDir } from './support/files.mjs';

const packageDir = fs.realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const fixtureDir = fileURLToPath(new URL('./fixtures/adoption-host/', import.meta.url));
const vatsDir = fileURLToPath(new URL('../demo/vats/', import.meta.url));
const scenario = fileURLToPath(new URL('../demo/kernel-scenario.mjs', import.meta.url));

/**
 * The installs and the hosts' runs are long: each request npm logs and each line a child
 * prints is progress (support/progress.mjs).
 */
const progress = makeProgress();
const run = (file, args, options) => runCommand(progress, file, args, options);

const sha256File = file => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * Writes a scratch host into `hostDir`: package.json from the template, host.mjs, the demo's
 * scenario and vats. The reference host (`adopting` false) is the same without this package and
 * the override.
 */
const writeHost = (hostDir, { adopting }) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'package.template.json'), 'utf8'));
  if (adopting) {
    manifest.dependencies['swingset-kernel-store'] = `file:${packageDir}`;
  } else {
    delete manifest.dependencies['swingset-kernel-store'];
    delete manifest.overrides;
  }
  fs.mkdirSync(hostDir, { recursive: true });
  fs.writeFileSync(path.join(hostDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.copyFileSync(path.join(fixtureDir, 'host.mjs'), path.join(hostDir, 'host.mjs'));
  fs.copyFileSync(scenario, path.join(hostDir, 'kernel-scenario.mjs'));
  fs.cpSync(vatsDir, path.join(hostDir, 'vats'), { recursive: true });
};

/** Installs a written host; resolves with the seconds it took. */
const install = async (t, hostDir) => {
  const t0 = Date.now();
  // At the `http` log level npm prints each request: its progress, however slow the network.
  const result = await run('npm', [...NPM_INSTALL, '--loglevel=http'], { cwd: hostDir, env: npmEnv() });
  t.is(result.code, 0, `npm install in ${hostDir} failed\n${tail(result)}`);
  return (Date.now() - t0) / 1000;
};

/** Runs a host's host.mjs on a new store in `storeDir`: its ADOPTION-RESULT. */
const runHost = async (t, hostDir, storeDir) => {
  const host = await run(process.execPath, ['host.mjs', storeDir], { cwd: hostDir });
  t.is(host.code, 0, `the host in ${hostDir} failed\n${tail(host)}`);
  const line = host.stdout.split('\n').find(l => l.startsWith('ADOPTION-RESULT '));
  t.truthy(line, `the host in ${hostDir} printed no result\n${tail(host)}`);
  return JSON.parse(line.slice('ADOPTION-RESULT '.length));
};

/** Every installed package of a host's lockfile: path -> version. */
const installedVersions = hostDir => {
  const lock = JSON.parse(fs.readFileSync(path.join(hostDir, 'package-lock.json'), 'utf8'));
  return new Map(Object.entries(lock.packages).map(([where, entry]) => [where, entry.version]));
};

test('a swingset-vat host gets swingset-kernel-store through npm overrides, with identical activityhashes', async t => {
  progress.watch(t);
  const tmp = tmpDir(t, 'sks-adoption');
  const hostDir = path.join(tmp, 'host');
  const referenceDir = path.join(tmp, 'reference-host');
  writeHost(hostDir, { adopting: true });
  writeHost(referenceDir, { adopting: false });
  const ourManifestHash = sha256File(path.join(packageDir, 'package.json'));

  // One after the other: the second install (--prefer-offline) resolves from the package
  // metadata the first one just fetched.
  const referenceSeconds = await install(t, referenceDir);
  const hostSeconds = await install(t, hostDir);
  t.log(`npm install: ${hostSeconds.toFixed(1)} s (host), ${referenceSeconds.toFixed(1)} s (reference host)`);
  await provideBetterSqlite(referenceDir, progress);

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

  // Both hosts got the same version of every package they both have, so only the store differs.
  const ourVersions = installedVersions(hostDir);
  const differing = [...installedVersions(referenceDir)].filter(
    ([where, version]) => ourVersions.has(where) && ourVersions.get(where) !== version && where !== 'node_modules/@agoric/swing-store',
  );
  t.deepEqual(differing, [], 'the two installs resolved differently');

  // microtime (swingset-vat's controller imports it) loads from its prebuilds without scripts.
  const micro = await run(process.execPath, ['-e', "process.stdout.write(String(require('microtime').nowDouble()))"], {
    cwd: hostDir,
  });
  t.is(micro.code, 0, `microtime does not load\n${tail(micro)}`);
  t.true(Number(micro.stdout) > 1e9);

  const t1 = Date.now();
  const [ours, theirs] = await Promise.all([
    runHost(t, hostDir, path.join(tmp, 'host-store')),
    runHost(t, referenceDir, path.join(tmp, 'reference-store')),
  ]);
  t.log(`host runs: ${((Date.now() - t1) / 1000).toFixed(1)} s`);

  // The store the host's code, and swingset-vat's code, got is ours; the reference host's is swing-store.
  t.like(ours.swingStoreForHost, { name: 'swingset-kernel-store', dir: packageDir });
  t.like(ours.swingStoreForSwingsetVat, { name: 'swingset-kernel-store', dir: packageDir });
  t.true(ours.hasKernelStore);
  t.true(ours.isSwingStore);
  t.like(theirs.swingStoreForSwingsetVat, { name: '@agoric/swing-store', version: '0.10.0' });
  t.false(theirs.hasKernelStore);

  // The scenario did what it does on swing-store, with the same activityhashes.
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
