// Benchmark: state-sync export and import, this package (`ours`, lib/index.mjs) against
// `@agoric/swing-store` 0.10.0 (`theirs`), on one generated store of a chain node's shape.
//
//   node bench/export.mjs              # table: ≥ 1M kvStore entries, 50 vats x 10k transcript items
//   node bench/export.mjs --quick      # smoke run on a small store, one repetition
//   node bench/export.mjs --archival   # also the archival artifact mode
//   node bench/export.mjs --reps N     # repetitions (default 3, --quick 1)
//
// The store is generated through swing-store's public API (kernelStorage in cranks, the
// transcript, snapshot and bundle stores as the kernel calls them), so both implementations read
// the same database; with it, swing-store's exporter writes an export directory per artifact
// mode in the files cosmic-swingset's export-kernel-db.js writes (export-manifest.json,
// export-data.jsonl, one file per artifact). Generating takes minutes: it is done once per
// generator and parameters, kept under <os tmpdir>/sks-bench-export/ (one store per scale), and
// reused by later runs.
//
// Measured, each in a child process of its own (so its peak RSS, VmHWM, is its own), alternating
// which implementation goes first, best of the repetitions (bench/harness.mjs):
//   start      makeSwingStoreExporter(dir) until its first getHostKV('host.height') answers
//   data       getExportData() read to the end: rows/s
//   artifacts  getArtifactNames() and every getArtifact() read to the end: bytes/s
//   import     importSwingStore(exporter, fresh dir, { artifactMode }) from an exporter over the
//              export directory (as import-kernel-db.js builds it), then host.height set, commit
//              and close; beside it, the time that exporter takes to read its files with no import
//              (the same code for both: the floor under either import)
// Both implementations' counts, sizes, and the imported store's activityhash must agree.
// An implementation that lacks makeSwingStoreExporter or importSwingStore is shown as not
// implemented; any other failure is reported and makes the exit status 1.
// Internal: node bench/export.mjs --worker ours|theirs --mode export:MODE|import:MODE
//             (the generated data's directory in $SKS_EXPORT_BENCH_DATA)
//           node bench/export.mjs --generate DIR --scale full|quick

import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMPLS, QUICK, argOf, argv, fmt, log, makeRng, msSince, now, peakRssKiB, printTable, runAlternating } from './harness.mjs';

const SCALES = {
  full: { kvEntries: 1_000_000, vats: 50, itemsPerVat: 10_000, spanItems: 2_000, snapshotBytes: 4 << 20, kernelBundles: true },
  quick: { kvEntries: 20_000, vats: 5, itemsPerVat: 500, spanItems: 100, snapshotBytes: 256 << 10, kernelBundles: false },
};
const HEIGHT = 1234;
const DATA_ENV = 'SKS_EXPORT_BENCH_DATA';
const self = fileURLToPath(import.meta.url);

const readJson = file => JSON.parse(fs.readFileSync(file, 'utf8'));

// ------------------------------------------------------------------------ generator ---

/** The kvStore entry `i`, in the shapes a chain's kvStore holds most of. */
const kvEntry = (i, vats) => {
  const vat = `v${1 + (i % vats)}`;
  switch (i % 8) {
    case 0:
      return [
        `${vat}.vs.vom.o+d${10 + (i % 7)}/${i}`,
        `{"amount":{"#tag":"copyRecord","payload":{"value":"+${i * 7919}"}},"brand":"$0.Alleged: IST brand"}`,
      ];
    case 1:
      return [`${vat}.c.ko${i}`, `R o-${i}`];
    case 2:
      return [`${vat}.c.o-${i}`, `ko${i}`];
    case 3:
      return [`ko${i}.owner`, vat];
    case 4:
      return [`ko${i}.refCount`, `${i % 5},${i % 5}`];
    case 5:
      return [`kp${i}.state`, 'fulfilled'];
    case 6:
      return [`kp${i}.data.body`, `#{"status":"ok","id":"+${i}"}`];
    default:
      return [`${vat}.vs.vc.${i % 50}.s${i}`, `{"body":"#\\"${'x'.repeat(i % 64)}\\"","slots":[]}`];
  }
};

/** Transcript item `n` of a vat: a delivery with one syscall, as the kernel records them. */
const transcriptItem = (vatID, n) =>
  JSON.stringify({
    d: ['message', `o+${n % 97}`, { methargs: { body: `#["method${n % 17}",[${n},"${vatID}"]]`, slots: [] }, result: `p-${60 + n}` }],
    sc: [{ s: ['resolve', [[`p-${60 + n}`, false, { body: `#{"n":${n * 31}}`, slots: [] }]]], r: ['ok', null] }],
    r: { status: 'ok', metering: { computrons: 100_000 + (n % 1000) } },
  });

/** A heap snapshot's bytes: 4 bits of entropy a byte, so it compresses about as xsnap's do. */
async function* snapshotBytes(size, seed) {
  const rng = makeRng(seed);
  const CHUNK = 64 << 10;
  for (let done = 0; done < size; done += CHUNK) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - done));
    for (let i = 0; i < chunk.length; i += 1) chunk[i] = 0x40 + (rng() & 15);
    yield chunk;
  }
}

/** Writes what export-kernel-db.js writes for `artifactMode`, from swing-store's exporter. */
async function writeExport(makeSwingStoreExporter, storeDir, exportDir, artifactMode) {
  fs.mkdirSync(exportDir);
  const exporter = makeSwingStoreExporter(storeDir, { artifactMode });
  const blockHeight = Number(exporter.getHostKV('host.height'));
  const data = fs.createWriteStream(path.join(exportDir, 'export-data.jsonl'));
  for await (const entry of exporter.getExportData()) {
    if (!data.write(`${JSON.stringify(entry)}\n`)) await new Promise(resolve => data.once('drain', resolve));
  }
  await new Promise((resolve, reject) => data.end(error => (error ? reject(error) : resolve())));
  const artifacts = [];
  for await (const name of exporter.getArtifactNames()) {
    await fs.promises.writeFile(path.join(exportDir, name), exporter.getArtifact(name));
    artifacts.push([name, name]);
  }
  await exporter.close();
  const manifest = { blockHeight, artifactMode, data: 'export-data.jsonl', artifacts };
  fs.writeFileSync(path.join(exportDir, 'export-manifest.json'), JSON.stringify(manifest, null, 2));
}

/** Generates the store (`dir`/store) and its export directories (`dir`/export-MODE). */
async function generate(dir, scale) {
  await import('@endo/init');
  const { initSwingStore, makeSwingStoreExporter } = await import('@agoric/swing-store');
  const { kvEntries, vats, itemsPerVat, spanItems, snapshotBytes: snapshotSize, kernelBundles } = SCALES[scale];
  const t0 = now();
  const note = (...a) => log(`  [generate ${fmt(msSince(t0) / 1000, 1)} s]`, ...a);
  const storeDir = path.join(dir, 'store');
  const { kernelStorage, hostStorage } = initSwingStore(storeDir);

  const CRANK = 1000;
  for (let i = 0; i < kvEntries; i += CRANK) {
    kernelStorage.startCrank();
    for (let k = i; k < Math.min(i + CRANK, kvEntries); k += 1) kernelStorage.kvStore.set(...kvEntry(k, vats));
    kernelStorage.emitCrankHashes();
    kernelStorage.endCrank();
    if ((i / CRANK) % 100 === 99) await hostStorage.commit();
  }
  await hostStorage.commit();
  note(`${kvEntries} kvStore entries`);

  // Each span ends at a snapshot, as the kernel rolls them over; only the last one stays in use
  // (the earlier ones' bytes are dropped, their records kept), so only it is full size.
  const { transcriptStore, snapStore } = kernelStorage;
  for (let v = 1; v <= vats; v += 1) {
    const vatID = `v${v}`;
    transcriptStore.initTranscript(vatID);
    for (let n = 0; n < itemsPerVat; n += 1) {
      transcriptStore.addItem(vatID, transcriptItem(vatID, n));
      const endPos = n + 1;
      if (endPos % spanItems === 0 && endPos < itemsPerVat) {
        const last = endPos + spanItems >= itemsPerVat;
        await snapStore.saveSnapshot(vatID, endPos, snapshotBytes(last ? snapshotSize : 64 << 10, v * 100_003 + endPos));
        await transcriptStore.rolloverSpan(vatID);
      }
    }
    await hostStorage.commit();
  }
  note(`${vats} vats x ${itemsPerVat} transcript items, snapshots of ${snapshotSize >> 10} KiB`);

  // Real bundles: the demo's and the benchmarks' vats, and at full scale the kernel's own.
  const { default: bundleSource } = await import('@endo/bundle-source');
  const sources = ['../demo/vats/bootstrap.js', '../demo/vats/dynamic.js', './vats/pinger.js', './vats/ponger.js'];
  const bundles = await Promise.all(sources.map(s => bundleSource(fileURLToPath(new URL(s, import.meta.url)))));
  if (kernelBundles) {
    const { buildKernelBundles } = await import('@agoric/swingset-vat');
    bundles.push(...Object.values(await buildKernelBundles()));
  }
  for (const bundle of bundles) kernelStorage.bundleStore.addBundle(`b1-${bundle.endoZipBase64Sha512}`, bundle);
  hostStorage.kvStore.set('host.height', String(HEIGHT));
  await hostStorage.commit();
  await hostStorage.close();
  note(`${bundles.length} bundles`);

  for (const artifactMode of ['operational', 'archival']) {
    await writeExport(makeSwingStoreExporter, storeDir, path.join(dir, `export-${artifactMode}`), artifactMode);
    note(`${artifactMode} export written`);
  }
  const storeBytes = fs.statSync(path.join(storeDir, 'swingstore.sqlite')).size;
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ scale, generateSeconds: msSince(t0) / 1000, storeBytes }));
}

/** The generated data for `scale`: made (by a child) unless an earlier run left it; returns its directory and meta. */
function provideData(scale) {
  const hash = crypto.createHash('sha256');
  hash.update(JSON.stringify({ scale: SCALES[scale], node: process.version }));
  for (const fn of [generate, writeExport, kvEntry, transcriptItem, snapshotBytes]) hash.update(fn.toString());
  hash.update(readJson(fileURLToPath(new URL('../node_modules/@agoric/swing-store/package.json', import.meta.url))).version);
  const root = path.join(os.tmpdir(), 'sks-bench-export');
  const dir = path.join(root, `${scale}-${hash.digest('hex').slice(0, 16)}`);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(root, { recursive: true });
    log(`generating the ${scale} store (once; kept in ${dir})`);
    const staging = fs.mkdtempSync(`${dir}.partial-`);
    const r = spawnSync(process.execPath, [self, '--generate', staging, '--scale', scale], { stdio: 'inherit' });
    if (r.status !== 0) {
      fs.rmSync(staging, { recursive: true, force: true });
      throw Error(`generating the store failed (status ${r.status}, signal ${r.signal})`);
    }
    fs.renameSync(staging, dir);
    // One store per scale is kept: the others were made by another generator or parameters.
    for (const name of fs.readdirSync(root)) {
      if (name.startsWith(`${scale}-`) && path.join(root, name) !== dir) fs.rmSync(path.join(root, name), { recursive: true, force: true });
    }
  }
  return { dir, meta: readJson(path.join(dir, 'meta.json')) };
}

// ---------------------------------------------------------------------------- worker ---

class NotImplemented extends Error {}

async function loadImpl(impl, names) {
  await import('@endo/init');
  const entry = impl === 'ours' ? await import('../lib/index.mjs') : await import('@agoric/swing-store');
  const missing = names.filter(name => typeof entry[name] !== 'function');
  if (missing.length) throw new NotImplemented(`no ${missing.join(', ')}`);
  return entry;
}

async function exportPhase(impl, storeDir, artifactMode) {
  const { makeSwingStoreExporter } = await loadImpl(impl, ['makeSwingStoreExporter']);
  const t0 = now();
  const exporter = makeSwingStoreExporter(storeDir, { artifactMode });
  const height = exporter.getHostKV('host.height');
  const startMs = msSince(t0);

  let rows = 0;
  let chars = 0;
  const t1 = now();
  for await (const [key, value] of exporter.getExportData()) {
    rows += 1;
    chars += key.length + (value?.length ?? 0);
  }
  const dataMs = msSince(t1);

  let artifacts = 0;
  let bytes = 0;
  const t2 = now();
  for await (const name of exporter.getArtifactNames()) {
    artifacts += 1;
    for await (const chunk of exporter.getArtifact(name)) bytes += chunk.length;
  }
  const artifactsMs = msSince(t2);
  await exporter.close();
  return {
    rows: { start: { ops: 1, ms: startMs }, data: { ops: rows, ms: dataMs }, artifacts: { ops: bytes, ms: artifactsMs } },
    check: { height, rows, chars, artifacts, bytes },
  };
}

/** The lines of a file, streamed. */
async function* lines(file) {
  let carry = '';
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (carry + chunk).split('\n');
    carry = parts.pop();
    yield* parts;
  }
  if (carry) yield carry;
}

/** An exporter over an export directory, as import-kernel-db.js builds it. */
const fileExporter = (exportDir, manifest) => {
  const files = new Map(manifest.artifacts);
  return {
    getHostKV: () => undefined,
    async *getExportData() {
      for await (const line of lines(path.join(exportDir, manifest.data))) yield JSON.parse(line);
    },
    async *getArtifactNames() {
      yield* files.keys();
    },
    async *getArtifact(name) {
      yield* fs.createReadStream(path.join(exportDir, files.get(name)));
    },
    close: async () => {},
  };
};

async function importPhase(impl, exportDir, artifactMode) {
  const { importSwingStore, openSwingStore } = await loadImpl(impl, ['importSwingStore', 'openSwingStore']);
  const manifest = readJson(path.join(exportDir, 'export-manifest.json'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `exportbench-import-${impl}-`));
  try {
    // What the import cannot go below: reading its input (which also puts both implementations'
    // runs on the same warm page cache).
    const tRead = now();
    let bytes = 0;
    const reader = fileExporter(exportDir, manifest);
    for await (const [key, value] of reader.getExportData()) bytes += key.length + (value?.length ?? 0);
    for await (const name of reader.getArtifactNames()) {
      for await (const chunk of reader.getArtifact(name)) bytes += chunk.length;
    }
    const readMs = msSince(tRead);

    const t0 = now();
    const { hostStorage } = await importSwingStore(fileExporter(exportDir, manifest), dir, { artifactMode });
    hostStorage.kvStore.set('host.height', String(manifest.blockHeight));
    await hostStorage.commit();
    await hostStorage.close();
    const ms = msSince(t0);
    const reopened = openSwingStore(dir);
    const check = {
      activityhash: reopened.kernelStorage.getActivityhash(),
      height: reopened.hostStorage.kvStore.get('host.height'),
    };
    await reopened.hostStorage.close();
    return { rows: { read: { ops: bytes, ms: readMs }, import: { ops: 1, ms } }, check };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function worker(impl, mode) {
  const [phase, artifactMode] = mode.split(':');
  const dataDir = process.env[DATA_ENV];
  let result;
  try {
    result =
      phase === 'export'
        ? await exportPhase(impl, path.join(dataDir, 'store'), artifactMode)
        : await importPhase(impl, path.join(dataDir, `export-${artifactMode}`), artifactMode);
  } catch (error) {
    result = { rows: {}, check: { error: error.message, notImplemented: error instanceof NotImplemented } };
  }
  process.stdout.write(`${JSON.stringify({ impl, mode, ...result, maxRssKiB: peakRssKiB() })}\n`);
}

// ---------------------------------------------------------------------------- parent ---

const ROWS = {
  export: [
    { id: 'start', label: 'exporter start (open to first getHostKV)', unit: 'ms', target: 'ms, independent of size' },
    { id: 'data', label: 'export data', unit: 'rows/s', target: '>= 3x' },
    { id: 'artifacts', label: 'artifacts', unit: 'MB/s' },
  ],
  import: [
    { id: 'read', label: 'reading the export files alone (floor of import)', unit: 's', sameCode: true },
    { id: 'import', label: 'import (incl. commit and close)', unit: 's', target: '>= 3x' },
  ],
};

/** A row's value in its unit, and how many times better ours is (higher is better). */
const show = (unit, v) => {
  if (unit === 'ms') return { value: v.ms, text: fmt(v.ms, 1) };
  if (unit === 's') return { value: v.ms / 1000, text: fmt(v.ms / 1000, 1) };
  const rate = (v.ops * 1000) / v.ms;
  return unit === 'MB/s' ? { value: rate / 1e6, text: fmt(rate / 1e6, 1) } : { value: rate, text: fmt(rate, 0) };
};
const betterBy = (unit, ours, theirs) => (unit === 'ms' || unit === 's' ? theirs / ours : ours / theirs);

async function parent() {
  const scale = QUICK ? 'quick' : 'full';
  const reps = Number(argOf('--reps') ?? (scale === 'quick' ? 1 : 3));
  const artifactModes = argv.includes('--archival') ? ['operational', 'archival'] : ['operational'];
  const started = now();
  const { dir, meta } = provideData(scale);
  const p = SCALES[scale];
  log(
    `store: ${p.kvEntries.toLocaleString()} kvStore entries, ${p.vats} vats x ${p.itemsPerVat.toLocaleString()} transcript items ` +
      `(spans of ${p.spanItems.toLocaleString()}), snapshots of ${fmt(p.snapshotBytes / 2 ** 20, 2)} MiB; ` +
      `${fmt(meta.storeBytes / 2 ** 20, 0)} MiB on disk, generated in ${fmt(meta.generateSeconds, 1)} s`,
  );

  process.env[DATA_ENV] = dir;
  const modes = artifactModes.flatMap(m => [`export:${m}`, `import:${m}`]);
  const { best, rss, checks } = runAlternating({ script: self, modes, impls: IMPLS, reps });

  const table = [];
  const failures = [];
  for (const mode of modes) {
    const [phase, artifactMode] = mode.split(':');
    const errors = Object.fromEntries(IMPLS.map(impl => [impl, checks[mode][impl].find(c => c.error)]));
    for (const impl of IMPLS) {
      const e = errors[impl];
      if (e && !e.notImplemented) failures.push(`${impl} ${mode}: ${e.error}`);
    }
    for (const { id, label, unit, target = '', sameCode = false } of ROWS[phase]) {
      const cell = impl => {
        if (errors[impl]) return { text: errors[impl].notImplemented ? 'not implemented' : 'failed' };
        return show(unit, best[mode][impl][id]);
      };
      const [ours, theirs] = IMPLS.map(cell);
      const ratio = ours.value && theirs.value && !sameCode ? `${fmt(betterBy(unit, ours.value, theirs.value))}x` : '-';
      table.push([`${label} (${artifactMode})`, unit, ours.text, theirs.text, ratio, target]);
    }
    const mib = impl => (errors[impl] ? '-' : fmt(rss[mode][impl] / 1024, 0));
    table.push([`peak RSS, ${phase} child (${artifactMode})`, 'MiB', mib('ours'), mib('theirs'), '', 'bounded']);
    const agreeing = IMPLS.filter(impl => !errors[impl]).map(impl => checks[mode][impl].map(c => JSON.stringify(c)));
    if (new Set(agreeing.flat()).size > 1) failures.push(`${mode}: the results differ: ${JSON.stringify(checks[mode])}`);
  }

  log();
  log(`state-sync export/import benchmark (${scale}), best of ${reps}, node ${process.version}, ${os.cpus().length} cpus`);
  printTable(['', 'unit', 'ours', 'theirs', 'ours better by', 'target'], table, 1);
  log();
  for (const f of failures) log(`FAILED ${f}`);
  log(`total ${fmt(msSince(started) / 1000, 1)} s`);
  if (failures.length) process.exitCode = 1;
}

if (argv.includes('--generate')) {
  await generate(argOf('--generate'), argOf('--scale'));
} else if (argv.includes('--worker')) {
  await worker(argOf('--worker'), argOf('--mode'));
} else {
  await parent();
}
