// A chain node on this store: @agoric/cosmic-swingset 0.42.0, the JS side of the Agoric chain
// node as npm ships it, runs unchanged with @agoric/swing-store mapped to this package by npm
// `overrides` (docs/adoption.md). A scratch host installs it that way, and a reference host
// installs it as published, on @agoric/swing-store 0.10.0 (fixtures/cosmic-host; both kept
// between runs, see support/scratch-host.mjs). A real kernel's on-disk store (the scenario of
// demo/kernel-scenario.mjs on xs-worker vats, run here on this package) is then exported by the
// host's own src/export-kernel-db.js and imported by its own src/import-kernel-db.js, run as agd
// runs them: as scripts with their real argv, and as the child chain-main.js forks for a
// state-sync snapshot. The stores are compared through swing-store itself.
//
// Two faults of the published packages hit swing-store as much as this package, and are worked
// around, not fixed: @agoric/builders 0.2.0 is published without its index.js (the hosts map it
// to fixtures/cosmic-host/builders-stand-in), and a fresh install mixes two `ses` versions (the
// hosts' programs load cosmic-swingset's modules after its own helpers/maybe-unsafe-lockdown.js,
// as its CLIs do).
//
// SKS_COSMIC_SUBJECT=swing-store runs every test with the reference host in place of this
// package's (every comparison is then swing-store against itself, which checks the spec); the
// default, SKS_COSMIC_SUBJECT=ours, is this package.
import '@endo/init/debug.js';
import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { openSwingStore, makeSwingStoreExporter } from '@agoric/swing-store';
import { initSwingStore as initOurs } from '../lib/index.mjs';
import { STEPS, startKernel, runStep } from '../demo/kernel-scenario.mjs';
import { makeTempDir, removeTempDirs, kvDiff } from './kernel-helpers.mjs';
import { mustSucceed, resultLine, provideBetterSqlite, provideHost } from './support/scratch-host.mjs';
import { makeProgress, runCommand } from './support/progress.mjs';

const packageDir = fs.realpathSync(fileURLToPath(new URL('..', import.meta.url)));
const fixtureDir = fileURLToPath(new URL('./fixtures/cosmic-host/', import.meta.url));

/** The package that answers '@agoric/swing-store' in the host under test. */
const SUBJECTS = { ours: 'swingset-kernel-store', 'swing-store': '@agoric/swing-store' };
const SUBJECT = process.env.SKS_COSMIC_SUBJECT || 'ours';
if (!Object.hasOwn(SUBJECTS, SUBJECT)) {
  throw Error(`SKS_COSMIC_SUBJECT must be one of ${Object.keys(SUBJECTS).join(', ')}, not ${JSON.stringify(SUBJECT)}`);
}

const ARTIFACT_MODES = ['operational', 'replay', 'archival', 'debug'];
/** Whether a store imported in the mode holds every span's items, not only the current ones. */
const HOLDS_HISTORY = { operational: false, replay: false, archival: true, debug: true };
const HEIGHT = 17;

/**
 * A first run installs two trees of ~450 packages each, and every test waits on child
 * processes: each line a child prints and each kernel step here is progress
 * (support/progress.mjs), and a test fails only when that stops.
 */
const progress = makeProgress();
const run = (file, args, options) => runCommand(progress, file, args, options);

test.after.always(removeTempDirs);

// ------------------------------------------------------------------------------- hosts ---

const hostManifest = () => JSON.parse(fs.readFileSync(path.join(fixtureDir, 'package.template.json'), 'utf8'));

const oursManifest = () => {
  const manifest = hostManifest();
  manifest.dependencies['swingset-kernel-store'] = `file:${packageDir}`;
  manifest.overrides['@agoric/swing-store'] = '$swingset-kernel-store';
  return manifest;
};

const hostParts = {
  trees: { 'builders-stand-in': path.join(fixtureDir, 'builders-stand-in') },
  files: Object.fromEntries(['load-chain-main.mjs', 'state-sync-export.mjs'].map(f => [f, path.join(fixtureDir, f)])),
};

/** { reference, subject }: each { dir, installSeconds }; the same host when the subject is swing-store. */
let hostsP;
const getHosts = () =>
  (hostsP ??= (async () => {
    const reference = await provideHost({
      label: 'cosmic-swing-store',
      manifest: hostManifest(),
      progress,
      afterInstall: hostDir => provideBetterSqlite(hostDir, progress),
      ...hostParts,
    });
    const subject =
      SUBJECT === 'ours' ? await provideHost({ label: 'cosmic-ours', manifest: oursManifest(), progress, ...hostParts }) : reference;
    for (const host of [reference, subject]) host.dir = fs.realpathSync(host.dir);
    return { reference, subject };
  })());

// A script runs as one only when its import.meta.url equals argv[1]'s URL: hence the real path.
const cosmicScript = (host, name) => path.join(host.dir, 'node_modules', '@agoric', 'cosmic-swingset', 'src', name);
const runExport = (host, args) => run(process.execPath, [cosmicScript(host, 'export-kernel-db.js'), ...args], { cwd: host.dir });
const runImport = (host, args) => run(process.execPath, [cosmicScript(host, 'import-kernel-db.js'), ...args], { cwd: host.dir });

// ------------------------------------------------------------------------ the original ---

/**
 * The store a node would hold at block HEIGHT: the kernel scenario on this package, on disk at
 * `<home>/data/agoric` (where agd keeps it, found by export-kernel-db.js's --home). It stops
 * before the last step, so the dynamic vat lives on with three incarnations: a replay export
 * then holds its current incarnation's spans, an archival one all of them.
 */
let originalP;
const getOriginal = () =>
  (originalP ??= (async () => {
    const home = makeTempDir('cosmic-home');
    const stateDir = path.join(home, 'data', 'agoric');
    const swingStore = initOurs(stateDir);
    const t0 = Date.now();
    const controller = await startKernel(swingStore, 'xs-worker');
    progress.tick();
    for (const step of STEPS.slice(0, -1)) {
      const { status } = await runStep(controller, swingStore, step);
      if (status !== 'fulfilled') throw Error(`kernel scenario step ${step}: ${status}`);
      progress.tick();
    }
    await controller.shutdown();
    swingStore.hostStorage.kvStore.set('host.height', String(HEIGHT));
    await swingStore.hostStorage.commit();
    await swingStore.hostStorage.close();
    return { home, stateDir, seconds: (Date.now() - t0) / 1000 };
  })());

/** A copy of the original store, for a test that changes it. */
const copyOfOriginal = async label => {
  const { stateDir } = await getOriginal();
  const dir = makeTempDir(label);
  fs.cpSync(stateDir, dir, { recursive: true });
  return dir;
};

// ------------------------------------------------------------------- exports, imports ---

const exportDirs = new Map();
/** The export the `role`'s host writes of the original store in `mode`, as agd's scripts run it (once per role and mode). */
const exportOriginal = (role, mode) => {
  const key = `${role} ${mode}`;
  if (!exportDirs.has(key)) {
    exportDirs.set(
      key,
      (async () => {
        const { [role]: host } = await getHosts();
        const { home } = await getOriginal();
        const exportDir = makeTempDir(`cosmic-export-${role}-${mode}`);
        const args = ['--home', home, '--export-dir', exportDir, '--verbose', '--artifact-mode', mode, '--export-data-mode', 'all'];
        mustSucceed(await runExport(host, args), `export-kernel-db.js on the ${role} host (${mode})`);
        return exportDir;
      })(),
    );
  }
  return exportDirs.get(key);
};

/** The export the reference host writes of any store. */
const exportStore = async (stateDir, mode) => {
  const { reference } = await getHosts();
  const exportDir = makeTempDir(`cosmic-reexport-${mode}`);
  const args = ['--state-dir', stateDir, '--export-dir', exportDir, '--artifact-mode', mode, '--export-data-mode', 'all'];
  mustSucceed(await runExport(reference, args), `export-kernel-db.js on the reference host (${mode})`);
  return exportDir;
};

/**
 * A fresh store imported from `exportDir` by the `role`'s host: import-kernel-db.js as a
 * genesis restore runs it, with `--artifact-mode` when given (the manifest's mode otherwise).
 */
const importInto = async (role, exportDir, artifactMode) => {
  const { [role]: host } = await getHosts();
  // import-kernel-db.js wants the state directory to exist.
  const stateDir = makeTempDir(`cosmic-import-${role}`);
  const args = ['--state-dir', stateDir, '--export-dir', exportDir, '--export-data-mode', 'all'];
  if (artifactMode) args.push('--artifact-mode', artifactMode);
  mustSucceed(await runImport(host, args), `import-kernel-db.js on the ${role} host`);
  return stateDir;
};

const readManifest = exportDir => JSON.parse(fs.readFileSync(path.join(exportDir, 'export-manifest.json'), 'utf8'));

// ---------------------------------------------------------------------- comparisons ---

const sha256 = data => crypto.createHash('sha256').update(data).digest('hex');
const mapValues = (object, fn) => Object.fromEntries(Object.entries(object).map(([k, v]) => [k, fn(v)]));

/** A snapshot row of swing-store's dump, by its uncompressed bytes (its gzip bytes are the compressor's). */
const summarizeSnapshot = ({ compressedSnapshot, ...row }) => ({
  ...row,
  contents: compressedSnapshot ? sha256(zlib.gunzipSync(compressedSnapshot)) : null,
});

/**
 * What a store holds, as swing-store's debug.dump() shows it, in a form that compares well:
 * without the local.* kvStore entries (never exported), each vat's transcript items as their
 * positions and a hash, each snapshot and bundle by hash.
 */
const storeContents = async (stateDir, includeHistorical) => {
  // dump() hardens what it returns, and hardening a Buffer walks every byte: the snapshots,
  // megabytes each, are summarized before, through swing-store's own wrapSnapStore option.
  const swingStore = openSwingStore(stateDir, {
    readonly: true,
    wrapSnapStore: snapStore => ({
      ...snapStore,
      dumpSnapshots: historical => mapValues(snapStore.dumpSnapshots(historical), rows => rows.map(summarizeSnapshot)),
    }),
  });
  try {
    const { kvEntries, transcripts, snapshots, bundles } = swingStore.debug.dump(includeHistorical);
    return {
      kvEntries: Object.fromEntries(Object.entries(kvEntries).filter(([key]) => !key.startsWith('local.'))),
      activityhash: swingStore.kernelStorage.getActivityhash(),
      transcripts: mapValues(transcripts, items => {
        const positions = Object.keys(items).map(Number);
        return { first: positions[0], last: positions.at(-1), count: positions.length, sha256: sha256(JSON.stringify(items)) };
      }),
      snapshots,
      bundles: mapValues(bundles, sha256),
    };
  } finally {
    await swingStore.hostStorage.close();
  }
};

/** A store's export data, read by swing-store's exporter. */
const exportData = async stateDir => {
  const exporter = makeSwingStoreExporter(stateDir);
  const rows = [];
  for await (const row of exporter.getExportData()) rows.push(row);
  await exporter.close();
  return rows;
};

const assertSameStore = async (t, actualDir, expectedDir, includeHistorical) => {
  const { kvEntries: actualKv, ...actual } = await storeContents(actualDir, includeHistorical);
  const { kvEntries: expectedKv, ...expected } = await storeContents(expectedDir, includeHistorical);
  t.deepEqual(kvDiff(actualKv, expectedKv), [], 'kvStore differs ("ours" is the imported store, "theirs" the original)');
  t.deepEqual(actual, expected);
};

/** Both directories hold the same files, byte for byte. */
const assertSameFiles = (t, actualDir, expectedDir) => {
  const names = fs.readdirSync(expectedDir).sort();
  t.deepEqual(fs.readdirSync(actualDir).sort(), names);
  const read = (dir, name) => fs.readFileSync(path.join(dir, name));
  const differing = names.filter(n => fs.existsSync(path.join(actualDir, n)) && !read(actualDir, n).equals(read(expectedDir, n)));
  t.deepEqual(differing, [], 'files that differ');
};

/**
 * A store imported from an export in `mode` holds what the original did: the same kvStore,
 * activityhash, transcripts, snapshots and bundles, and, exported again in that mode, the same
 * export (which covers what the mode adds to the current state: spans of earlier incarnations).
 */
const assertRestored = async (t, importedDir, mode) => {
  const { stateDir } = await getOriginal();
  await assertSameStore(t, importedDir, stateDir, HOLDS_HISTORY[mode]);
  assertSameFiles(t, await exportStore(importedDir, mode), await exportOriginal('reference', mode));
};

const cosmicTest = (title, fn) =>
  test.serial(title, async t => {
    progress.watch(t);
    await fn(t);
  });

// ----------------------------------------------------------------------------- tests ---

cosmicTest(`chain-main.js loads with ${SUBJECTS[SUBJECT]} as @agoric/swing-store`, async t => {
  const { reference, subject } = await getHosts();
  t.log(`hosts: reference installed in ${reference.installSeconds} s, subject in ${subject.installSeconds} s (0: reused)`);
  const result = resultLine(
    mustSucceed(await run(process.execPath, ['load-chain-main.mjs'], { cwd: subject.dir }), 'load-chain-main.mjs'),
    'CHAIN-MAIN-RESULT',
  );
  t.is(result.swingStore.name, SUBJECTS[SUBJECT]);
  if (SUBJECT === 'ours') t.is(result.swingStore.dir, packageDir);
  t.deepEqual(result.missing, [], 'names cosmic-swingset imports from @agoric/swing-store that it lacks');
  t.is(result.error, undefined);
  t.true(result.exports?.includes('default') && result.exports.includes('makeLaunchChain'), JSON.stringify(result.exports));
});

for (const mode of ARTIFACT_MODES) {
  cosmicTest(`export-kernel-db.js --artifact-mode ${mode} writes on ${SUBJECT} what it writes on the reference host, byte for byte`, async t => {
    const { seconds } = await getOriginal();
    t.log(`kernel run for the original store: ${seconds} s`);
    const exportDir = await exportOriginal('subject', mode);
    t.like(readManifest(exportDir), { blockHeight: HEIGHT, artifactMode: mode, data: 'export-data.jsonl' });
    assertSameFiles(t, exportDir, await exportOriginal('reference', mode));
  });
}

for (const mode of ARTIFACT_MODES) {
  cosmicTest(`import-kernel-db.js restores on ${SUBJECT} its ${mode} export into a store equal to the original`, async t => {
    await assertRestored(t, await importInto('subject', await exportOriginal('subject', mode), mode), mode);
  });
}

// As a node joining by state sync gets them: the import's artifact mode is the manifest's.
for (const mode of ['operational', 'archival']) {
  cosmicTest(`a ${mode} export written on the reference host imports on ${SUBJECT} into a store equal to the original`, async t => {
    await assertRestored(t, await importInto('subject', await exportOriginal('reference', mode)), mode);
  });

  cosmicTest(`a ${mode} export written on ${SUBJECT} imports on the reference host into a store equal to the original`, async t => {
    await assertRestored(t, await importInto('reference', await exportOriginal('subject', mode)), mode);
  });
}

cosmicTest(`the state-sync export chain-main.js forks on ${SUBJECT} holds the block it started at while the node commits the next`, async t => {
  const { subject } = await getHosts();
  const nodeDir = await copyOfOriginal('cosmic-node');
  const exportDir = makeTempDir('cosmic-state-sync');
  const node = await run(process.execPath, ['state-sync-export.mjs', nodeDir, exportDir, String(HEIGHT)], { cwd: subject.dir });
  const { activityhashAtStart, activityhashAfterNextBlock } = resultLine(mustSucceed(node, 'state-sync-export.mjs'), 'STATE-SYNC-RESULT');
  t.not(activityhashAfterNextBlock, activityhashAtStart, 'the node committed a block during the export');
  assertSameFiles(t, exportDir, await exportOriginal('reference', 'operational'));
});

cosmicTest(`import-kernel-db.js --export-data-mode repair-metadata restores on ${SUBJECT} the span records a store lost`, async t => {
  const { subject } = await getHosts();
  const { stateDir } = await getOriginal();
  // The damage swing-store's repairMetadata exists for (agoric-sdk#8025): the records of past
  // transcript spans and snapshots missing.
  const damaged = await copyOfOriginal('cosmic-repair');
  const swingStore = openSwingStore(damaged);
  const { db } = swingStore.internal;
  const lostSpans = db.prepare('DELETE FROM transcriptSpans WHERE isCurrent IS NULL').run().changes;
  db.prepare('DELETE FROM snapshots WHERE inUse IS NULL').run();
  await swingStore.hostStorage.close();
  t.true(lostSpans > 0);
  t.notDeepEqual(await exportData(damaged), await exportData(stateDir));

  const args = ['--state-dir', damaged, '--export-dir', await exportOriginal('reference', 'operational')];
  args.push('--export-data-mode', 'repair-metadata', '--artifact-mode', 'none', '--check-block-height', String(HEIGHT));
  mustSucceed(await runImport(subject, args), 'import-kernel-db.js --export-data-mode repair-metadata');
  t.deepEqual(await exportData(damaged), await exportData(stateDir));
});

cosmicTest(`import-kernel-db.js on ${SUBJECT} refuses an export whose transcript artifact was altered, naming the artifact`, async t => {
  const { subject } = await getHosts();
  const altered = makeTempDir('cosmic-altered');
  fs.cpSync(await exportOriginal('reference', 'operational'), altered, { recursive: true });
  const size = ([, file]) => fs.statSync(path.join(altered, file)).size;
  const [name, file] = readManifest(altered)
    .artifacts.filter(([artifact]) => artifact.startsWith('transcript.'))
    .reduce((a, b) => (size(b) > size(a) ? b : a));
  // One digit of the first item changed: still well-formed, no longer what the export data's hash vouches for.
  const text = fs.readFileSync(path.join(altered, file), 'utf8');
  const at = text.search(/[0-9]/);
  fs.writeFileSync(path.join(altered, file), `${text.slice(0, at)}${(Number(text[at]) + 1) % 10}${text.slice(at + 1)}`);

  const args = ['--state-dir', makeTempDir('cosmic-import-altered'), '--export-dir', altered, '--export-data-mode', 'all'];
  const result = await runImport(subject, args);
  t.not(result.code, 0);
  t.true(result.stderr.includes(name), `stderr does not name ${name}:\n${result.stderr.slice(-3000)}`);
});

cosmicTest(`export-kernel-db.js on ${SUBJECT} refuses an archival export of a store that holds only the current spans`, async t => {
  const { subject } = await getHosts();
  const operational = await importInto('reference', await exportOriginal('reference', 'operational'), 'operational');
  const args = ['--state-dir', operational, '--export-dir', makeTempDir('cosmic-export-incomplete')];
  const result = await runExport(subject, [...args, '--artifact-mode', 'archival', '--export-data-mode', 'all']);
  t.not(result.code, 0);
  t.regex(result.stderr, /incomplete archival transcript/);
});
