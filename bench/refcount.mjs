// Benchmark: kernel refcounts and retained vatParameters on this addon (`ours`) and on
// the JS kernelKeeper of `@agoric/swingset-vat` 0.33.0 over `@agoric/swing-store` 0.10.0
// (`theirs`), in one run, in memory and on disk.
//
//   node bench/refcount.mjs                # table (+ per-call breakdown when a row is < 5x)
//   node bench/refcount.mjs --json         # results as JSON (progress goes to stderr)
//   node bench/refcount.mjs --breakdown    # always measure the per-call breakdown
//   node bench/refcount.mjs --quick        # smoke run: a tenth of the sizes, one repetition
//
// Rows (each timed from the first startCrank to the end of the final commit):
//   incdec     100k incrementRefCount + decrementRefCount pairs on 1,000 koNN that hold
//              '1,1' (each pair leaves them unchanged), cranks of 100 pairs. One op = a pair.
//   vatparams  10k setVatParameters with 5 object slots each (capdata built before timing,
//              slots rotate through the 1,000 krefs, 4 vats), cranks of 100 calls.
//   lifecycle  1k create / upgrade(with vatParameters) / terminate cycles on 1k distinct
//              vats, 5 slots per capdata, cranks of 10 cycles. One op = one lifecycle call.
//              theirs: what the kernel does to the kvStore through the vatKeeper:
//                create    provideVatKeeper(vatID).setVatParameters(cd)   (kernel.js processStartVat)
//                upgrade   provideVatKeeper(vatID).setVatParameters(cd2)  (kernel.js processUpgradeVat)
//                terminate kvStore.delete(`${vatID}.vatParameters`)  (the `kv` phase of
//                          kernelKeeper.cleanupAfterTerminatedVat: no decref, leak L1)
//              ours: createVat / upgradeVat({vatParameters}) / terminateVat (which also
//              decrements the retained slots, so its counts end where they started).
//
// Cranks are startCrank / ops / emitCrankHashes / endCrank. For theirs they are swing-store's
// kernelStorage methods (kernelKeeper.emitCrankHashes would also write kernelStats, which
// ours does not keep), so identical writes give identical crank and activity hashes; the
// incdec and vatparams rows check that.
//
// The parent spawns one child process per (implementation, mode, repetition) so each
// implementation's peak RSS is its own; it alternates the implementations, repeats every
// measurement REPS times and keeps the best. SES (`@endo/init`) is loaded only by the
// 'theirs' children.
// Internal: node bench/refcount.mjs --worker ours|theirs --mode memory|disk
//           node bench/refcount.mjs --breakdown-worker ours|theirs --mode memory|disk

import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AS_JSON, IMPLS, MODES, QUICK, REPS, argv, compareRows, fmt, gc,
  log, msSince, now, thousands, openCrankStore, printPeakRss, printTable, runAlternating, runSummary, runWorker, spawnChild, workerArgs,
} from './harness.mjs';

const TARGET = 5;

// Workload sizes (timed run) and the warm-up run's sizes (separate store, same process).
const FULL = QUICK ? { pairs: 10_000, vpCalls: 1_000, cycles: 100 } : { pairs: 100_000, vpCalls: 10_000, cycles: 1_000 };
const WARM = { pairs: 5_000, vpCalls: 1_000, cycles: 100 };
const POOL = 1_000; // object krefs ko20 .. ko1019, each starting at '1,1'
const FIRST_KO = 20;
const SLOTS = 5;
const VP_VATS = 4; // v1 .. v4 for the vatparams row
const FIRST_LIFECYCLE_VAT = 100; // v100 .. for the lifecycle row
const PAIRS_PER_CRANK = 100;
const VP_PER_CRANK = 100;
const CYCLES_PER_CRANK = 10;
const TAG = 'bench';

const ROWS = [
  { id: 'incdec', label: `inc+dec pairs (${thousands(FULL.pairs)} pairs, cranks of 100) + commit`, unit: 'pair' },
  { id: 'vatparams', label: `setVatParameters 5 slots (${thousands(FULL.vpCalls)}, cranks of 100) + commit`, unit: 'call' },
  {
    id: 'lifecycle',
    label: `create/upgrade/terminate (${thousands(FULL.cycles)} cycles = ${thousands(3 * FULL.cycles)} calls) + commit`,
    unit: 'call',
  },
];

// ---------------------------------------------------------------- worker ---

const kref = i => `ko${FIRST_KO + (i % POOL)}`;

/** Smallcaps capdata with 5 distinct object slots (as kser of a record of remotables). */
function makeCapData(n, firstSlot) {
  const slots = [];
  for (let j = 0; j < SLOTS; j += 1) slots.push(kref(firstSlot + j));
  const fields = slots.map((_, j) => `"${String.fromCharCode(97 + j)}":"$${j}.Alleged: thing"`);
  return { body: `#{${fields.join(',')},"n":${n}}`, slots };
}

/** Everything the workload needs, built before any timing starts. */
function makeWorkload({ pairs, vpCalls, cycles }) {
  const pairKrefs = Array.from({ length: pairs }, (_, i) => kref(i));
  const vpVats = Array.from({ length: vpCalls }, (_, i) => `v${1 + (i % VP_VATS)}`);
  const vpCaps = Array.from({ length: vpCalls }, (_, i) => makeCapData(i, i * SLOTS));
  const lcVats = Array.from({ length: cycles }, (_, c) => `v${FIRST_LIFECYCLE_VAT + c}`);
  const lcCreate = Array.from({ length: cycles }, (_, c) => makeCapData(c, c * 2 * SLOTS));
  const lcUpgrade = Array.from({ length: cycles }, (_, c) =>
    makeCapData(c + 0.5, c * 2 * SLOTS + SLOTS),
  );
  return { pairs, vpCalls, cycles, pairKrefs, vpVats, vpCaps, lcVats, lcCreate, lcUpgrade };
}

/** The keys both stores get before timing (identical in both, so hashes can be compared). */
function setupEntries(w) {
  const entries = [];
  for (let i = 0; i < POOL; i += 1) {
    entries.push([`${kref(i)}.owner`, 'v1']);
    entries.push([`${kref(i)}.refCount`, '1,1']);
  }
  const vats = [
    ...Array.from({ length: VP_VATS }, (_, i) => `v${1 + i}`),
    ...w.lcVats,
  ];
  for (const v of vats) {
    // vatKeeper: provideVatKeeper insists on `${vatID}.o.nextID`; ours: `${vatID}.options`.
    entries.push([`${v}.o.nextID`, '50']);
    entries.push([`${v}.options`, '{}']);
  }
  return { entries, vats };
}

/** A uniform view of one store: the crank API plus the refcount / vatParameters calls. */
async function openStore(impl, dir) {
  const st = await openCrankStore(impl, dir);
  if (impl === 'ours') {
    const s = st.store;
    return {
      ...st,
      // ours needs vats.terminated to exist; theirs gets it from createStartingKernelState.
      init: () => st.kv.set('vats.terminated', '[]'),
      inc: (k, tag) => s.incrementRefCount(k, tag),
      dec: (k, tag) => s.decrementRefCount(k, tag),
      setVP: (v, cd) => s.setVatParameters(v, cd),
      create: (v, cd) => s.createVat(v, { vatParameters: cd }),
      upgrade: (v, cd) => s.upgradeVat(v, { vatParameters: cd }),
      terminate: v => s.terminateVat(v),
    };
  }
  // @agoric/swingset-vat 0.33.0 has no `exports` map; resolve its directory and import
  // the kernel's internal modules by file URL.
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve('@agoric/swingset-vat/package.json'));
  const internal = rel => import(pathToFileURL(path.join(pkgDir, rel)).href);
  const kkMod = await internal('src/kernel/state/kernelKeeper.js');
  const { makeDummySlogger, noopConsole } = await internal('src/kernel/slogger.js');
  const makeKernelKeeper = kkMod.default;
  const k = st.kernelStorage;
  let kk;
  return {
    ...st,
    init: () => {
      // What initializeKernel does to a fresh DB (minus vats/devices and the crank-#0
      // emitCrankHashes), then the kernel's own keeper, as kernel.js makes it.
      const initKeeper = makeKernelKeeper(k, 'uninitialized');
      initKeeper.createStartingKernelState({ defaultManagerType: 'local' });
      initKeeper.setInitialized();
      initKeeper.saveStats();
      kk = makeKernelKeeper(
        k,
        kkMod.CURRENT_SCHEMA_VERSION,
        makeDummySlogger({}, noopConsole),
      );
      kk.loadStats();
    },
    get kk() {
      return kk;
    },
    inc: (kr, tag) => kk.incrementRefCount(kr, tag),
    dec: (kr, tag) => kk.decrementRefCount(kr, tag),
    setVP: (v, cd) => kk.provideVatKeeper(v).setVatParameters(cd),
    create: (v, cd) => kk.provideVatKeeper(v).setVatParameters(cd),
    upgrade: (v, cd) => kk.provideVatKeeper(v).setVatParameters(cd),
    terminate: v => k.kvStore.delete(`${v}.vatParameters`),
  };
}

/** Sum of R and C over the pool, read outside any timing. */
function poolSums(kv) {
  let r = 0;
  let c = 0;
  for (let i = 0; i < POOL; i += 1) {
    const [a, b] = kv.get(`${kref(i)}.refCount`).split(',').map(Number);
    r += a;
    c += b;
  }
  return { r, c };
}

async function prepareStore(impl, dir, w) {
  const st = await openStore(impl, dir);
  st.init();
  const { entries } = setupEntries(w);
  for (const [key, value] of entries) st.kv.set(key, value);
  await st.commit();
  return st;
}

/** Runs every row once on a fresh store; returns { rows, check }. */
async function runWorkload(impl, dir, w) {
  const st = await prepareStore(impl, dir, w);
  const { kv } = st;
  const rows = {};
  const common = {}; // must be identical between ours and theirs
  const lifecycle = {}; // differs by design (L1); checked against the model

  // incdec
  gc();
  const { pairs, pairKrefs } = w;
  let t0 = now();
  for (let i = 0; i < pairs; i += PAIRS_PER_CRANK) {
    st.startCrank();
    const end = Math.min(i + PAIRS_PER_CRANK, pairs);
    for (let k = i; k < end; k += 1) {
      const kr = pairKrefs[k];
      st.inc(kr, TAG);
      st.dec(kr, TAG);
    }
    st.emit();
    st.endCrank();
  }
  let t1 = now();
  await st.commit();
  rows.incdec = { ops: pairs, ms: msSince(t0), commitMs: msSince(t1) };
  common.hashAfterIncdec = st.activityhash();
  common.sumsAfterIncdec = poolSums(kv);

  // vatparams
  gc();
  const { vpCalls, vpVats, vpCaps } = w;
  t0 = now();
  for (let i = 0; i < vpCalls; i += VP_PER_CRANK) {
    st.startCrank();
    const end = Math.min(i + VP_PER_CRANK, vpCalls);
    for (let k = i; k < end; k += 1) st.setVP(vpVats[k], vpCaps[k]);
    st.emit();
    st.endCrank();
  }
  t1 = now();
  await st.commit();
  rows.vatparams = { ops: vpCalls, ms: msSince(t0), commitMs: msSince(t1) };
  common.hashAfterVatparams = st.activityhash();
  common.sumsAfterVatparams = poolSums(kv);
  common.v1VatParameters = kv.get('v1.vatParameters');

  // lifecycle
  gc();
  const { cycles, lcVats, lcCreate, lcUpgrade } = w;
  t0 = now();
  for (let c = 0; c < cycles; c += CYCLES_PER_CRANK) {
    st.startCrank();
    const end = Math.min(c + CYCLES_PER_CRANK, cycles);
    for (let k = c; k < end; k += 1) {
      const v = lcVats[k];
      st.create(v, lcCreate[k]);
      st.upgrade(v, lcUpgrade[k]);
      st.terminate(v);
    }
    st.emit();
    st.endCrank();
  }
  t1 = now();
  await st.commit();
  rows.lifecycle = { ops: cycles * 3, ms: msSince(t0), commitMs: msSince(t1) };
  const sums = poolSums(kv);
  lifecycle.leakedR = sums.r - common.sumsAfterVatparams.r;
  lifecycle.leakedC = sums.c - common.sumsAfterVatparams.c;
  lifecycle.retainedLeft = lcVats.filter(v => kv.get(`${v}.vatParameters`) !== undefined).length;

  await st.close();
  return { rows, check: { common, lifecycle } };
}

// ------------------------------------------------------ breakdown worker ---

/**
 * Per-call costs (ns, best of RUNS runs of N calls after one warm-up run, each run inside
 * one crank whose start/emit/end are not timed) so the engineers can see where a row's
 * time goes.
 */
async function breakdownWorker(impl, mode) {
  const RUNS = 9;
  const N = 20_000;
  const dir = mode === 'memory' ? null : fs.mkdtempSync(path.join(os.tmpdir(), `rcbd-${impl}-`));
  try {
    const w = makeWorkload({ pairs: N, vpCalls: N, cycles: 1_000 });
    const st = await prepareStore(impl, dir, w);
    const { kv } = st;
    const out = {};
    const measure = (name, n, body, { perCrank = true } = {}) => {
      const times = [];
      for (let r = 0; r < RUNS + 1; r += 1) {
        if (perCrank) st.startCrank();
        const t0 = now();
        body(n);
        const ns = Number(now() - t0);
        if (perCrank) {
          st.emit();
          st.endCrank();
        }
        if (r > 0) times.push(ns / n); // first run is a warm-up
      }
      out[name] = Math.min(...times);
    };
    const { pairKrefs, vpVats, vpCaps, lcVats, lcCreate, lcUpgrade } = w;
    const rcKeys = pairKrefs.map(k => `${k}.refCount`);
    const noop = () => {};
    const cd0 = { body: '#{}', slots: [] };

    measure('JS loop + empty JS call (baseline)', N, n => {
      for (let i = 0; i < n; i += 1) noop(pairKrefs[i], TAG);
    });
    if (impl === 'ours') {
      const s = st.store;
      measure('native call, no args (store.closed getter)', N, n => {
        for (let i = 0; i < n; i += 1) s.closed;
      });
      measure('kernelObjectExists(kref) (ours: native, 1 string arg)', N, n => {
        for (let i = 0; i < n; i += 1) s.kernelObjectExists(pairKrefs[i]);
      });
    } else {
      measure('kernelObjectExists(kref) (ours: native, 1 string arg)', N, n => {
        for (let i = 0; i < n; i += 1) st.kk.kernelObjectExists(pairKrefs[i]);
      });
    }
    const kdRefs = pairKrefs.map((_, i) => `kd${30 + (i % POOL)}`);
    measure('incrementRefCount(kdNN, tag): device, a no-op', N, n => {
      for (let i = 0; i < n; i += 1) st.inc(kdRefs[i], TAG);
    });
    measure('kvStore.get koNN.refCount', N, n => {
      for (let i = 0; i < n; i += 1) kv.get(rcKeys[i]);
    });
    measure('kvStore.set koNN.refCount (same value)', N, n => {
      for (let i = 0; i < n; i += 1) kv.set(rcKeys[i], '1,1');
    });
    measure('incrementRefCount alone', N, n => {
      for (let i = 0; i < n; i += 1) st.inc(pairKrefs[i], TAG);
    });
    measure('decrementRefCount alone', N, n => {
      for (let i = 0; i < n; i += 1) st.dec(pairKrefs[i], TAG);
    });
    measure('inc+dec pair', N, n => {
      for (let i = 0; i < n; i += 1) {
        st.inc(pairKrefs[i], TAG);
        st.dec(pairKrefs[i], TAG);
      }
    });
    if (impl === 'ours') {
      const s = st.store;
      measure('inc+dec pair, no tag argument', N, n => {
        for (let i = 0; i < n; i += 1) {
          s.incrementRefCount(pairKrefs[i]);
          s.decrementRefCount(pairKrefs[i]);
        }
      });
    }
    measure('setVatParameters, 5 slots', N / 10, n => {
      for (let i = 0; i < n; i += 1) st.setVP(vpVats[i], vpCaps[i]);
    });
    measure('setVatParameters, 0 slots -> 0 slots', N / 10, n => {
      for (let i = 0; i < n; i += 1) st.setVP(vpVats[i], cd0);
    });
    const M = lcVats.length;
    // One lifecycle phase per run over all M vats; median over runs (first is a warm-up).
    const phase = {};
    for (const name of ['create', 'upgrade', 'terminate']) phase[name] = [];
    for (let r = 0; r < RUNS + 1; r += 1) {
      st.startCrank();
      let t0 = now();
      for (let i = 0; i < M; i += 1) st.create(lcVats[i], lcCreate[i]);
      const tc = Number(now() - t0) / M;
      t0 = now();
      for (let i = 0; i < M; i += 1) st.upgrade(lcVats[i], lcUpgrade[i]);
      const tu = Number(now() - t0) / M;
      t0 = now();
      for (let i = 0; i < M; i += 1) st.terminate(lcVats[i]);
      const tt = Number(now() - t0) / M;
      st.emit();
      st.endCrank();
      if (r > 0) {
        phase.create.push(tc);
        phase.upgrade.push(tu);
        phase.terminate.push(tt);
      }
    }
    for (const [name, times] of Object.entries(phase)) {
      out[`lifecycle ${name} (5 slots)`] = Math.min(...times);
    }
    if (impl === 'theirs') {
      // What the lifecycle row's first create per vat pays on top of a cached keeper.
      measure('provideVatKeeper, new vatKeeper (after evictVatKeeper)', M, n => {
        for (let i = 0; i < n; i += 1) {
          st.kk.evictVatKeeper(lcVats[i]);
          st.kk.provideVatKeeper(lcVats[i]);
        }
      });
    }
    measure(
      'empty crank: startCrank+emitCrankHashes+endCrank',
      500,
      n => {
        for (let i = 0; i < n; i += 1) {
          st.startCrank();
          st.emit();
          st.endCrank();
        }
      },
      { perCrank: false },
    );
    await st.commit();
    await st.close();
    process.stdout.write(`${JSON.stringify({ impl, mode, perCallNs: out })}\n`);
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- parent ---

async function parent() {
  const forceBreakdown = argv.includes('--breakdown');
  const started = now();
  const { best, rss, checks } = runAlternating({ script: fileURLToPath(import.meta.url), modes: MODES, impls: IMPLS, reps: REPS });
  const results = compareRows(best, MODES, ROWS, (o, t) => ({
    oursCommitMs: o.commitMs,
    theirsCommitMs: t.commitMs,
    meetsTarget: (o.ops * t.ms) / (t.ops * o.ms) >= TARGET,
  }));
  const minRow = results.reduce((a, b) => (b.ratio < a.ratio ? b : a));

  // Checks: identical writes => identical hashes/counts for incdec and vatparams; for the
  // lifecycle, theirs leaks one count per slot of the last retained capdata (L1), ours none.
  const problems = [];
  for (const mode of MODES) {
    const all = [...checks[mode].ours, ...checks[mode].theirs].map(c => JSON.stringify(c.common));
    if (new Set(all).size !== 1) problems.push(`${mode}: incdec/vatparams results differ`);
    const perCycle = SLOTS * FULL.cycles;
    for (const c of checks[mode].ours) {
      const l = c.lifecycle;
      if (l.leakedR !== 0 || l.leakedC !== 0 || l.retainedLeft !== 0) {
        problems.push(`${mode}: ours lifecycle ${JSON.stringify(l)} (expected no leak)`);
      }
    }
    for (const c of checks[mode].theirs) {
      const l = c.lifecycle;
      if (l.leakedR !== perCycle || l.leakedC !== perCycle || l.retainedLeft !== 0) {
        problems.push(`${mode}: theirs lifecycle ${JSON.stringify(l)} (expected L1 leak ${perCycle})`);
      }
    }
  }

  let breakdown;
  if (forceBreakdown || results.some(r => !r.meetsTarget)) {
    breakdown = {};
    for (const mode of MODES) {
      breakdown[mode] = {};
      for (const impl of IMPLS) {
        const t = now();
        breakdown[mode][impl] = spawnChild(fileURLToPath(import.meta.url), ['--breakdown-worker', impl, '--mode', mode]).perCallNs;
        log(`  breakdown ${mode.padEnd(6)} ${impl.padEnd(6)} ${fmt(msSince(t) / 1000, 1)} s`);
      }
    }
  }

  const summary = {
    ...runSummary(started, rss, minRow),
    target: TARGET,
    checksOk: problems.length === 0,
    problems,
    checks: Object.fromEntries(
      MODES.map(m => [m, { ours: checks[m].ours[0], theirs: checks[m].theirs[0] }]),
    ),
    breakdownNsPerCall: breakdown,
  };

  if (AS_JSON) {
    console.log(JSON.stringify({ results, ...summary }, null, 2));
    return;
  }
  const head = ['mode', 'row', 'ours ops/s', 'theirs ops/s', 'ours/theirs', `>=${TARGET}x`];
  head.push('ours ms', 'theirs ms', 'ours commit ms', 'theirs commit ms');
  const lines = results.map(r => [
    r.mode,
    r.label,
    fmt(r.oursOpsPerSec, 0),
    fmt(r.theirsOpsPerSec, 0),
    fmt(r.ratio),
    r.meetsTarget ? 'yes' : 'NO',
    fmt(r.oursMs),
    fmt(r.theirsMs),
    fmt(r.oursCommitMs),
    fmt(r.theirsCommitMs),
  ]);
  log();
  log(`refcount / vatParameters benchmark${QUICK ? ' (quick)' : ''}, best of ${REPS}, node ${process.version}, ${os.cpus().length} cpus`);
  log('(ops: incdec = inc+dec pairs, others = calls; each row includes its final commit)');
  printTable(head, lines, 2);
  log();
  printPeakRss(rss, MODES);
  log(
    problems.length
      ? `checks FAILED:\n  ${problems.join('\n  ')}`
      : 'checks: activity hashes and refcounts agree after incdec and vatparams; lifecycle: ' +
          `theirs leaks ${SLOTS * FULL.cycles} R and C (L1), ours none`,
  );
  log(`minimum ratio ours/theirs: ${fmt(minRow.ratio)} (${minRow.mode}, ${minRow.label}); total ${fmt(summary.totalSeconds, 1)} s`);
  if (breakdown) {
    log();
    log('per-call cost, ns (best of 9 runs of 20k calls (setVatParameters: 2k; lifecycle: 1k vats; empty cranks: 500), inside a crank)');
    const names = [];
    for (const mode of MODES) {
      for (const impl of IMPLS) {
        for (const n of Object.keys(breakdown[mode][impl])) if (!names.includes(n)) names.push(n);
      }
    }
    const cell = (mode, impl, n) => {
      const v = breakdown[mode][impl][n];
      return v === undefined ? '-' : fmt(v, 0);
    };
    const bhead = ['call', ...MODES.flatMap(m => IMPLS.map(i => `${m} ${i}`))];
    const brows = names.map(n => [n, ...MODES.flatMap(m => IMPLS.map(i => cell(m, i, n)))]);
    printTable(bhead, brows, 1);
  }
}

const self = 'bench/refcount.mjs';
if (argv.includes('--worker')) {
  const { impl, mode } = workerArgs(self, '--worker', IMPLS, MODES);
  await runWorker({ impl, mode, label: 'rcbench', run: (dir, sizes) => runWorkload(impl, dir, makeWorkload(sizes)), warm: WARM, full: FULL });
} else if (argv.includes('--breakdown-worker')) {
  const { impl, mode } = workerArgs(self, '--breakdown-worker', IMPLS, MODES);
  await breakdownWorker(impl, mode);
} else {
  await parent();
}
