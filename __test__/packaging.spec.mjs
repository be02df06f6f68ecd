// Packaging: what `npm pack` ships works for a host that installs it. The tarball is packed
// from this directory and installed, with `--ignore-scripts`, into a fresh host next to
// @agoric/swingset-vat 0.33.0 (fixtures/packed-host/package.template.json). Nothing gets a
// native build that way — not better-sqlite3, not xsnap — so the host's kernel runs with local
// workers and only our prebuilt binary. The host's own code then runs a real kernel on the
// installed package, a CommonJS `require` and an ESM `import` of it, and a Jest test of it.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EXPECTED_RESULTS } from './kernel-helpers.mjs';
import { NPM_INSTALL, mustSucceed, npmEnv, resultLine, tail } from './support/scratch-host.mjs';
import { makeProgress, runCommand } from './support/progress.mjs';

const packageDir = fs.realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const fixtureDir = fileURLToPath(new URL('./fixtures/packed-host/', import.meta.url));
const vatsDir = fileURLToPath(new URL('../demo/vats/', import.meta.url));
const scenario = fileURLToPath(new URL('../demo/kernel-scenario.mjs', import.meta.url));
const jestBin = path.join(packageDir, 'node_modules', '.bin', 'jest');

const BINARY = 'swingset-kernel-store.linux-x64-gnu.node';
const HOST_FILES = ['host.mjs', 'smoke.cjs', 'smoke.mjs', 'store.test.js'];
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];
const SCENARIO_STEPS = ['create', 'upgradeWithParameters', 'upgradeWithoutParameters', 'terminate'];

/** What both entries (`require` and `import`) export, by type: this checkout's entry's. */
const EXPORT_TYPES = Object.fromEntries(
  Object.entries(createRequire(import.meta.url)('../lib/index.cjs')).map(([name, value]) => [name, typeof value]),
);

/**
 * Packing (which may rebuild the binary), installing and the host's runs are long: each line
 * they print is progress (support/progress.mjs); a test fails only when one stops printing.
 */
const progress = makeProgress();
const run = (file, args, options) => runCommand(progress, file, args, options);

/** Writes the host into `hostDir`: package.json from the template, its code, the demo's scenario and vats. */
const writeHost = hostDir => {
  fs.mkdirSync(hostDir, { recursive: true });
  fs.copyFileSync(path.join(fixtureDir, 'package.template.json'), path.join(hostDir, 'package.json'));
  for (const file of HOST_FILES) fs.copyFileSync(path.join(fixtureDir, file), path.join(hostDir, file));
  fs.copyFileSync(scenario, path.join(hostDir, 'kernel-scenario.mjs'));
  fs.cpSync(vatsDir, path.join(hostDir, 'vats'), { recursive: true });
};

test.before(async t => {
  progress.watch(t);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sks-packaging-'));
  const packDir = path.join(tmp, 'pack');
  const hostDir = path.join(tmp, 'host');
  fs.mkdirSync(packDir);
  t.context = { tmp, hostDir };

  // prepack rebuilds the binary if the sources moved on, so what is packed is current.
  const pack = mustSucceed(await run('npm', ['pack', '--pack-destination', packDir], { cwd: packageDir, env: npmEnv() }), 'npm pack');
  const [tarballName, ...others] = fs.readdirSync(packDir);
  if (!tarballName || others.length) throw Error(`npm pack left ${JSON.stringify(fs.readdirSync(packDir))}`);
  const tarball = path.join(packDir, tarballName);
  const listing = mustSucceed(await run('tar', ['-tzf', tarball]), 'listing the tarball');
  const packedManifest = mustSucceed(await run('tar', ['-xzOf', tarball, 'package/package.json']), 'reading the packed package.json');

  writeHost(hostDir);
  const install = mustSucceed(
    // At the `http` log level npm prints each request: its progress, however slow the network.
    await run('npm', [...NPM_INSTALL, '--loglevel=http', tarball], {
      cwd: hostDir,
      env: npmEnv(),
    }),
    'npm install in the host',
  );

  Object.assign(t.context, {
    tarball,
    tarballFiles: listing.stdout.split('\n').filter(Boolean),
    packedManifest: JSON.parse(packedManifest.stdout),
    packSeconds: pack.seconds,
    installSeconds: install.seconds,
  });
});

test.after.always(t => fs.rmSync(t.context.tmp, { recursive: true, force: true }));

/** The host's kernel scenario, run once for every test that reads it. */
let scenarioP;
const getScenario = ({ hostDir, tmp }) =>
  (scenarioP ??= (async () => {
    const storeDir = path.join(tmp, 'kernel-store');
    const result = mustSucceed(await run(process.execPath, ['host.mjs', storeDir], { cwd: hostDir }), "the host's kernel scenario");
    return { ...resultLine(result, 'PACKED-HOST-RESULT'), storeDir, seconds: result.seconds };
  })());

test('the tarball carries the linux-x64-gnu binary and every file the manifest points at', t => {
  const { tarballFiles, packedManifest, packSeconds } = t.context;
  t.log(`npm pack (prepack: napi build --platform --release): ${packSeconds.toFixed(1)} s`);
  t.true(tarballFiles.includes(`package/${BINARY}`));
  const { main, types, exports, bin } = packedManifest;
  const targets = [main, types, ...Object.values(bin), ...Object.values(exports).flatMap(e => (typeof e === 'string' ? [e] : Object.values(e)))];
  for (const target of new Set(targets)) {
    t.true(tarballFiles.includes(path.posix.join('package', target)), `${target} is in the tarball`);
  }
});

test('the packed manifest runs no script at install time', t => {
  const { tarballFiles, packedManifest } = t.context;
  t.deepEqual(
    INSTALL_SCRIPTS.filter(name => name in (packedManifest.scripts ?? {})),
    [],
  );
  // npm runs `node-gyp rebuild` as an implicit install script for a package with a binding.gyp.
  t.false(tarballFiles.includes('package/binding.gyp'));
});

test("npm installs the tarball as a copy in the host's node_modules, not a link to this directory", t => {
  const { hostDir, tarball, installSeconds } = t.context;
  t.log(`npm install --ignore-scripts (tarball + @agoric/swingset-vat@0.33.0 and the host's other dependencies): ${installSeconds.toFixed(1)} s`);
  const installed = path.join(hostDir, 'node_modules', 'swingset-kernel-store');
  t.is(fs.realpathSync(installed), installed);
  t.true(fs.existsSync(path.join(installed, BINARY)));
  const lock = JSON.parse(fs.readFileSync(path.join(hostDir, 'package-lock.json'), 'utf8'));
  const entry = lock.packages['node_modules/swingset-kernel-store'];
  t.is(entry.link, undefined);
  t.is(path.resolve(hostDir, entry.resolved.replace(/^file:/, '')), tarball);
  t.is(lock.packages['node_modules/@agoric/swingset-vat'].version, '0.33.0');
});

test("swingset-vat's kernel runs the scenario on the installed package, from the host's own code", async t => {
  progress.watch(t);
  const { hostDir } = t.context;
  const scenario = await getScenario(t.context);
  t.log(`host kernel scenario (local workers): ${scenario.seconds.toFixed(1)} s`);
  t.is(scenario.entry, path.join(hostDir, 'node_modules', 'swingset-kernel-store', 'lib', 'index.mjs'));
  t.true(scenario.hasKernelStore);
  t.deepEqual(
    scenario.steps.map(({ step, status, resolution }) => ({ step, result: { status, resolution } })),
    SCENARIO_STEPS.map(step => ({ step, result: EXPECTED_RESULTS[step] })),
  );
  // Every step committed kernel work, which the store hashed.
  const hashes = scenario.steps.map(s => s.activityhash);
  for (const hash of hashes) t.regex(hash, /^[0-9a-f]{64}$/);
  t.is(new Set(hashes).size, hashes.length);
});

test("the kernel never loads better-sqlite3's native addon, although swingset-vat imports its JavaScript", async t => {
  progress.watch(t);
  const { hostDir } = t.context;
  const betterSqlite3 = path.join(hostDir, 'node_modules', 'better-sqlite3');
  // Without its install script better-sqlite3 has no addon at all: had the kernel needed one,
  // the scenario could not have run.
  t.true(fs.existsSync(path.join(betterSqlite3, 'package.json')));
  t.false(fs.existsSync(path.join(betterSqlite3, 'build')));
  const scenario = await getScenario(t.context);
  t.true(scenario.nativeAddons.includes(`node_modules/swingset-kernel-store/${BINARY}`));
  t.deepEqual(
    scenario.nativeAddons.filter(file => file.includes('better-sqlite3') || file.includes('better_sqlite3')),
    [],
  );
  // swingset-vat's controller imports @agoric/swing-store, which imports better-sqlite3; its
  // addon is loaded only when a Database is constructed.
  t.true(scenario.betterSqlite3Modules.includes('node_modules/better-sqlite3/lib/index.js'));
});

test("the installed kernel-store command audits the host's store and finds no refcount deficit", async t => {
  progress.watch(t);
  const { hostDir } = t.context;
  const { storeDir } = await getScenario(t.context);
  const audit = await run(path.join(hostDir, 'node_modules', '.bin', 'kernel-store'), ['audit', storeDir, '--json'], { cwd: hostDir });
  // Exit 1 is "mismatches": surpluses, here the result promises the host never read.
  t.true([0, 1].includes(audit.code), tail(audit));
  const report = JSON.parse(audit.stdout);
  t.deepEqual(report.errors, []);
  t.true(report.entriesScanned > 0);
});

test('a CommonJS require resolves to lib/index.cjs, with the swing-store entry points and a working store', async t => {
  const { hostDir } = t.context;
  const smoke = resultLine(mustSucceed(await run(process.execPath, ['smoke.cjs'], { cwd: hostDir }), 'smoke.cjs'), 'SMOKE');
  t.is(smoke.entry, path.join(hostDir, 'node_modules', 'swingset-kernel-store', 'lib', 'index.cjs'));
  t.deepEqual(smoke.exportTypes, EXPORT_TYPES);
  t.is(smoke.readBack, 'cjs');
});

test('an ESM import resolves to lib/index.mjs, with the same named exports as require, the require result as default, and a working store', async t => {
  const { hostDir } = t.context;
  const smoke = resultLine(mustSucceed(await run(process.execPath, ['smoke.mjs'], { cwd: hostDir }), 'smoke.mjs'), 'SMOKE');
  t.is(smoke.entry, path.join(hostDir, 'node_modules', 'swingset-kernel-store', 'lib', 'index.mjs'));
  t.deepEqual(smoke.exportTypes, { ...EXPORT_TYPES, default: 'object' });
  t.is(smoke.readBack, 'esm');
});

test("the host's Jest test resolves the package from the host and sets and gets a key", async t => {
  progress.watch(t);
  const { hostDir, tmp } = t.context;
  // Jest is this package's; the test file's `require`s resolve from the host. The cache goes
  // with the temp dir, not into a jest_* dir left behind in the system temp directory.
  const jest = await run(process.execPath, [jestBin, '--ci', '--json', '--rootDir', hostDir, '--cacheDirectory', path.join(tmp, 'jest-cache')], {
    cwd: hostDir,
  });
  t.log(`jest: ${jest.seconds.toFixed(1)} s`);
  t.is(jest.code, 0, tail(jest));
  const report = JSON.parse(jest.stdout);
  t.deepEqual(
    report.testResults.flatMap(file => file.assertionResults.map(({ title, status }) => ({ file: path.relative(hostDir, file.name), title, status }))),
    [
      { file: 'store.test.js', title: 'swingset-kernel-store resolves from the host', status: 'passed' },
      { file: 'store.test.js', title: 'a key set in a store is read back, before and after commit and reopen', status: 'passed' },
    ],
  );
});

test("the native entry, swingset-kernel-store/native, loads by require and by import", async t => {
  const { hostDir } = t.context;
  const names = "['KernelStore', 'KvStore', 'auditRefcounts'].map(n => typeof native[n]).join()";
  const cjs = await run(process.execPath, ['-e', `const native = require('swingset-kernel-store/native'); console.log(${names})`], { cwd: hostDir });
  const esm = await run(process.execPath, ['--input-type=module', '-e', `import * as native from 'swingset-kernel-store/native'; console.log(${names})`], { cwd: hostDir });
  t.is(cjs.stdout.trim(), 'function,function,function', tail(cjs));
  t.is(esm.stdout.trim(), 'function,function,function', tail(esm));
});

test('the installed kernel-store demo runs the real-kernel demo in a host that has swingset-vat', async t => {
  progress.watch(t);
  const { hostDir, tmp } = t.context;
  const demo = await run(path.join(hostDir, 'node_modules', '.bin', 'kernel-store'), ['demo', path.join(tmp, 'demo-store')], { cwd: hostDir });
  t.log(`kernel-store demo: ${demo.seconds.toFixed(1)} s`);
  t.is(demo.code, 0, tail(demo));
  t.true(fs.existsSync(path.join(tmp, 'demo-store', 'swingstore.sqlite')));
  t.regex(demo.stdout, /what the native lifecycle does differently/);
});
