// Benchmark: the kvStore/crank workload on this addon (`ours`) and on
// `@agoric/swing-store` 0.10.0's kernelStorage (`theirs`), in one run.
//
//   node bench/kv.mjs           # table
//   node bench/kv.mjs --json    # results as JSON (progress goes to stderr)
//   node bench/kv.mjs --quick   # smoke run: a tenth of the sizes, one repetition
//
// The parent spawns one child process per (implementation, mode, repetition)
// so each implementation's peak RSS is its own; it alternates the
// implementations, repeats every measurement REPS times and keeps the best.
// Internal: node bench/kv.mjs --worker ours|theirs --mode memory|disk

import os from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  AS_JSON, IMPLS, MODES, QUICK, REPS, argv, compareRows, fmt, gc,
  log, makeRng, msSince, now, thousands, openCrankStore, printPeakRss, printTable, runAlternating, runSummary, runWorker, workerArgs,
} from './harness.mjs';

// Workload sizes (timed run) and the warm-up run's sizes (separate store).
const FULL = QUICK
  ? { nKeys: 10_000, crankOps: 100, prefixes: 50, mixedCranks: 100 }
  : { nKeys: 100_000, crankOps: 100, prefixes: 50, mixedCranks: 1_000 };
const WARM = { nKeys: 5_000, crankOps: 100, prefixes: 50, mixedCranks: 50 };

const ROWS = [
  { id: 'set', label: `set (${thousands(FULL.nKeys)}, cranks of 100)` },
  { id: 'commit', label: `commit after ${thousands(FULL.nKeys)} set` },
  { id: 'block', label: `block: ${thousands(FULL.nKeys)} set + commit` },
  { id: 'get', label: `get (${thousands(FULL.nKeys)}, 10% miss, cranks of 100)` },
  { id: 'scan', label: 'getNextKey scan (full + 50 prefixes)' },
  { id: 'mixed', label: `mixed crank (${thousands(FULL.mixedCranks)} cranks x 100 ops)` },
];

// ---------------------------------------------------------------- worker ---

/** Everything the workload needs, built before any timing starts. */
function makeWorkload({ nKeys, crankOps, prefixes, mixedCranks }) {
  const keys = new Array(nKeys);
  const values = new Array(nKeys);
  for (let i = 0; i < nKeys; i += 1) {
    keys[i] = `v${i % prefixes}.c.ko${i}`;
    values[i] = `R o+${i}`;
  }
  const next = makeRng(0x5eed);
  const rng = n => next() % n;
  // get: a shuffled order of the written keys, every 10th op a miss.
  const getKeys = new Array(nKeys);
  const perm = Array.from({ length: nKeys }, (_, i) => i);
  for (let i = nKeys - 1; i > 0; i -= 1) {
    const j = rng(i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  for (let i = 0; i < nKeys; i += 1) {
    getKeys[i] = i % 10 === 9 ? `v${i % prefixes}.c.ko${nKeys + i}` : keys[perm[i]];
  }
  const prefixList = Array.from({ length: prefixes }, (_, n) => `v${n}.c.`);
  // mixed: per crank 100 ops, by j % 10: 0-3 get, 4-7 set, 8 delete, 9 getNextKey.
  // Sets overwrite an existing key half the time and create a new one otherwise.
  const mixedOps = mixedCranks * 100;
  const mixKeys = new Array(mixedOps);
  const mixVals = new Array(mixedOps);
  let fresh = nKeys * 2;
  for (let c = 0; c < mixedCranks; c += 1) {
    for (let j = 0; j < 100; j += 1) {
      const k = c * 100 + j;
      const kind = j % 10;
      if (kind >= 4 && kind <= 7 && rng(2) === 0) {
        fresh += 1;
        mixKeys[k] = `v${fresh % prefixes}.c.ko${fresh}`;
      } else {
        mixKeys[k] = keys[rng(nKeys)];
      }
      mixVals[k] = kind >= 4 && kind <= 7 ? `R o+${k}:${c}` : undefined;
    }
  }
  return { nKeys, crankOps, keys, values, getKeys, prefixList, mixedCranks, mixKeys, mixVals };
}

/** Runs every row once on a fresh store; returns { row: { ops, ms } } and checks. */
async function runWorkload(impl, dir, w) {
  const st = await openCrankStore(impl, dir);
  const { kv } = st;
  const { nKeys, crankOps, keys, values, getKeys, prefixList } = w;
  const out = {};
  const check = {};

  // set
  gc();
  let t0 = now();
  for (let i = 0; i < nKeys; i += crankOps) {
    st.startCrank();
    st.savepoint('deliver');
    const end = Math.min(i + crankOps, nKeys);
    for (let k = i; k < end; k += 1) kv.set(keys[k], values[k]);
    st.emit();
    st.endCrank();
  }
  out.set = { ops: nKeys, ms: msSince(t0) };
  check.hashAfterSet = st.activityhash();

  // commit
  t0 = now();
  await st.commit();
  out.commit = { ops: 1, ms: msSince(t0) };
  // Ours writes the block to SQLite at commit, theirs at each set: the block is the fair unit.
  out.block = { ops: nKeys, ms: out.set.ms + out.commit.ms };

  // get
  gc();
  let hits = 0;
  t0 = now();
  for (let i = 0; i < nKeys; i += crankOps) {
    st.startCrank();
    st.savepoint('deliver');
    const end = Math.min(i + crankOps, nKeys);
    for (let k = i; k < end; k += 1) if (kv.get(getKeys[k]) !== undefined) hits += 1;
    st.emit();
    st.endCrank();
  }
  out.get = { ops: nKeys, ms: msSince(t0) };
  check.getHits = hits;
  await st.commit();

  // getNextKey scan: one full scan, then one scan per prefix; each call is one op.
  gc();
  let calls = 0;
  let fullLen = 0;
  t0 = now();
  st.startCrank();
  for (let key = kv.getNextKey(''); key !== undefined; key = kv.getNextKey(key)) {
    calls += 1;
    fullLen += 1;
  }
  calls += 1;
  st.emit();
  st.endCrank();
  let prefixLen = 0;
  for (const prefix of prefixList) {
    st.startCrank();
    let key = kv.getNextKey(prefix);
    calls += 1;
    while (key !== undefined && key.startsWith(prefix)) {
      prefixLen += 1;
      key = kv.getNextKey(key);
      calls += 1;
    }
    st.emit();
    st.endCrank();
  }
  out.scan = { ops: calls, ms: msSince(t0) };
  check.scanFull = fullLen;
  check.scanPrefix = prefixLen;
  await st.commit();

  // mixed crank
  gc();
  const { mixedCranks, mixKeys, mixVals } = w;
  let mixHits = 0;
  t0 = now();
  for (let c = 0; c < mixedCranks; c += 1) {
    st.startCrank();
    st.savepoint('deliver');
    const base = c * 100;
    for (let j = 0; j < 100; j += 1) {
      const k = base + j;
      const kind = j % 10;
      if (kind < 4) {
        if (kv.get(mixKeys[k]) !== undefined) mixHits += 1;
      } else if (kind < 8) {
        kv.set(mixKeys[k], mixVals[k]);
      } else if (kind === 8) {
        kv.delete(mixKeys[k]);
      } else if (kv.getNextKey(mixKeys[k]) !== undefined) {
        mixHits += 1;
      }
    }
    if (c % 10 === 9) st.rollback('deliver');
    st.emit();
    st.endCrank();
    if (c % 100 === 99) await st.commit();
  }
  await st.commit();
  out.mixed = { ops: mixedCranks * 100, ms: msSince(t0) };
  check.mixedHits = mixHits;
  check.hashAfterMixed = st.activityhash();

  await st.close();
  return { rows: out, check };
}

// ---------------------------------------------------------------- parent ---

async function parent() {
  const started = now();
  const { best, rss, checks } = runAlternating({ script: fileURLToPath(import.meta.url), modes: MODES, impls: IMPLS, reps: REPS });
  const results = compareRows(best, MODES, ROWS);
  const minRow = results.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  // Same deterministic workload, same semantics: the checks must agree.
  const mismatches = [];
  for (const mode of MODES) {
    const all = [...checks[mode].ours, ...checks[mode].theirs].map(c => JSON.stringify(c));
    if (new Set(all).size !== 1) mismatches.push(mode);
  }
  const summary = {
    ...runSummary(started, rss, minRow),
    checksAgree: mismatches.length === 0,
    checks: Object.fromEntries(MODES.map(m => [m, checks[m].ours[0]])),
  };

  if (AS_JSON) {
    console.log(JSON.stringify({ results, ...summary }, null, 2));
    return;
  }
  const head = ['mode', 'row', 'ours ops/s', 'theirs ops/s', 'ours/theirs', 'ours ms', 'theirs ms'];
  const lines = results.map(r => [
    r.mode,
    r.label,
    fmt(r.oursOpsPerSec),
    fmt(r.theirsOpsPerSec),
    fmt(r.ratio),
    fmt(r.oursMs),
    fmt(r.theirsMs),
  ]);
  log();
  log(`kvStore benchmark${QUICK ? ' (quick)' : ''}, best of ${REPS}, node ${process.version}, ${os.cpus().length} cpus`);
  printTable(head, lines, 2);
  log();
  printPeakRss(rss, MODES);
  log(
    `checks (hit counts, scan lengths, activity hashes) ${
      mismatches.length ? `DIFFER in: ${mismatches.join(', ')}` : 'agree between ours and theirs'
    }`,
  );
  log(`minimum ratio ours/theirs: ${fmt(minRow.ratio)} (${minRow.mode}, ${minRow.label}); total ${fmt(summary.totalSeconds, 1)} s`);
}

if (argv.includes('--worker')) {
  const { impl, mode } = workerArgs('bench/kv.mjs', '--worker', IMPLS, MODES);
  await runWorker({ impl, mode, label: 'kvbench', run: (dir, sizes) => runWorkload(impl, dir, makeWorkload(sizes)), warm: WARM, full: FULL });
} else {
  await parent();
}
