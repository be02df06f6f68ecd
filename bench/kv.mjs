// Benchmark: the kvStore/crank workload on this addon (`ours`) and on
// `@agoric/swing-store` 0.10.0's kernelStorage (`theirs`), in one run.
//
//   node bench/kv.mjs           # table
//   node bench/kv.mjs --json    # results as JSON (progress goes to stderr)
//
// The parent spawns one child process per (implementation, mode, repetition)
// so each implementation's peak RSS is its own; it alternates the
// implementations, repeats every measurement REPS times and keeps the best.
// Internal: node bench/kv.mjs --worker ours|theirs --mode memory|disk

import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, runAlternating } from './harness.mjs';

const REPS = 3;
const MODES = ['memory', 'disk'];
const IMPLS = ['ours', 'theirs'];

// Workload sizes (timed run) and the warm-up run's sizes (separate store).
const FULL = { nKeys: 100_000, crankOps: 100, prefixes: 50, mixedCranks: 1_000 };
const WARM = { nKeys: 5_000, crankOps: 100, prefixes: 50, mixedCranks: 50 };

const ROWS = [
  { id: 'set', label: 'set (100k, cranks of 100)' },
  { id: 'commit', label: 'commit after 100k set' },
  { id: 'block', label: 'block: 100k set + commit' },
  { id: 'get', label: 'get (100k, 10% miss, cranks of 100)' },
  { id: 'scan', label: 'getNextKey scan (full + 50 prefixes)' },
  { id: 'mixed', label: 'mixed crank (1k cranks x 100 ops)' },
];

const argv = process.argv.slice(2);
const argOf = name => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

// ---------------------------------------------------------------- worker ---

/** Deterministic PRNG (xorshift32) so both implementations see the same ops. */
function makeRng(seed) {
  let x = seed >>> 0 || 1;
  return n => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** Everything the workload needs, built before any timing starts. */
function makeWorkload({ nKeys, crankOps, prefixes, mixedCranks }) {
  const keys = new Array(nKeys);
  const values = new Array(nKeys);
  for (let i = 0; i < nKeys; i += 1) {
    keys[i] = `v${i % prefixes}.c.ko${i}`;
    values[i] = `R o+${i}`;
  }
  const rng = makeRng(0x5eed);
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

/** A uniform, synchronous-where-possible view of one store. */
async function openStore(impl, dir) {
  if (impl === 'ours') {
    const require = createRequire(import.meta.url);
    const { KernelStore } = require('../index.js');
    const s = KernelStore.open(dir, {});
    return {
      kv: s.kvStore,
      startCrank: () => s.startCrank(),
      savepoint: n => s.establishCrankSavepoint(n),
      rollback: n => s.rollbackCrank(n),
      emit: () => s.emitCrankHashes(),
      endCrank: () => s.endCrank(),
      commit: async () => s.commit(),
      close: async () => s.close(),
      activityhash: () => s.getActivityhash(),
    };
  }
  await import('@endo/init');
  const { initSwingStore } = await import('@agoric/swing-store');
  const { kernelStorage: k, hostStorage: h } = initSwingStore(dir);
  return {
    kv: k.kvStore,
    startCrank: () => k.startCrank(),
    savepoint: n => k.establishCrankSavepoint(n),
    rollback: n => k.rollbackCrank(n),
    emit: () => k.emitCrankHashes(),
    endCrank: () => k.endCrank(),
    commit: () => h.commit(),
    close: () => h.close(),
    activityhash: () => k.getActivityhash(),
  };
}

const now = () => process.hrtime.bigint();
const msSince = t0 => Number(now() - t0) / 1e6;
const gc = () => globalThis.gc && globalThis.gc();

/** Runs every row once on a fresh store; returns { row: { ops, ms } } and checks. */
async function runWorkload(impl, dir, w) {
  const st = await openStore(impl, dir);
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
  return { out, check };
}

async function worker(impl, mode) {
  const tmp = [];
  const newDir = () => {
    if (mode === 'memory') return null;
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `kvbench-${impl}-`));
    tmp.push(d);
    return d;
  };
  try {
    await runWorkload(impl, newDir(), makeWorkload(WARM)); // warm-up, separate store
    const w = makeWorkload(FULL);
    const { out, check } = await runWorkload(impl, newDir(), w);
    const maxRssKiB = process.resourceUsage().maxRSS;
    process.stdout.write(`${JSON.stringify({ impl, mode, rows: out, check, maxRssKiB })}\n`);
  } finally {
    for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- parent ---

async function parent() {
  const asJson = argv.includes('--json');
  const log = (...a) => (asJson ? console.error : console.log)(...a);
  const started = now();
  const { best, rss, checks } = runAlternating({
    script: fileURLToPath(import.meta.url),
    modes: MODES,
    impls: IMPLS,
    reps: REPS,
    log,
  });

  const results = [];
  for (const mode of MODES) {
    for (const { id, label } of ROWS) {
      const o = best[mode].ours[id];
      const t = best[mode].theirs[id];
      const oursOps = (o.ops * 1000) / o.ms;
      const theirsOps = (t.ops * 1000) / t.ms;
      results.push({
        mode,
        row: id,
        label,
        ops: o.ops,
        oursMs: o.ms,
        theirsMs: t.ms,
        oursOpsPerSec: oursOps,
        theirsOpsPerSec: theirsOps,
        ratio: oursOps / theirsOps,
      });
    }
  }
  const minRow = results.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  // Same deterministic workload, same semantics: the checks must agree.
  const mismatches = [];
  for (const mode of MODES) {
    const all = [...checks[mode].ours, ...checks[mode].theirs].map(c => JSON.stringify(c));
    if (new Set(all).size !== 1) mismatches.push(mode);
  }
  const summary = {
    reps: REPS,
    node: process.version,
    cpus: os.cpus().length,
    totalSeconds: msSince(started) / 1000,
    peakRssKiB: rss,
    minRatio: { mode: minRow.mode, row: minRow.row, ratio: minRow.ratio },
    checksAgree: mismatches.length === 0,
    checks: Object.fromEntries(MODES.map(m => [m, checks[m].ours[0]])),
  };

  if (asJson) {
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
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map(l => l[i].length)));
  const show = l => l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  console.log();
  console.log(`kvStore benchmark, best of ${REPS}, node ${process.version}, ${os.cpus().length} cpus`);
  console.log(show(head));
  console.log(widths.map(w => '-'.repeat(w)).join('-|-'));
  for (const l of lines) console.log(show(l));
  console.log();
  for (const mode of MODES) {
    const mib = k => `${fmt(k / 1024, 1)} MiB`;
    console.log(`peak RSS (${mode}): ours ${mib(rss[mode].ours)}, theirs ${mib(rss[mode].theirs)}`);
  }
  console.log(
    `checks (hit counts, scan lengths, activity hashes) ${
      mismatches.length ? `DIFFER in: ${mismatches.join(', ')}` : 'agree between ours and theirs'
    }`,
  );
  console.log(
    `minimum ratio ours/theirs: ${fmt(minRow.ratio)} (${minRow.mode}, ${minRow.label}); total ${fmt(summary.totalSeconds, 1)} s`,
  );
}

if (argv.includes('--worker')) {
  const impl = argOf('--worker');
  const mode = argOf('--mode') || 'memory';
  if (!IMPLS.includes(impl) || !MODES.includes(mode)) {
    throw Error('usage: node bench/kv.mjs --worker ours|theirs --mode memory|disk');
  }
  await worker(impl, mode);
} else {
  await parent();
}
