// What the benchmarks share: their command line, clocks, peak RSS and tables; and for kv.mjs,
// refcount.mjs and export.mjs, the way they measure: each measurement runs in a child process
// of its own (so each implementation's peak RSS is its own), the implementations alternate
// which goes first, every measurement is repeated and the fastest run of each row is kept.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const argv = process.argv.slice(2);

/** The value after `name` on the command line, or `undefined`. */
export const argOf = name => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** `--quick`: a smoke run, small and once; every child spawnChild starts gets it too. */
export const QUICK = argv.includes('--quick');

/** The two implementations measured: this package's, and @agoric/swing-store 0.10.0's. */
export const IMPLS = ['ours', 'theirs'];
/** Where kv.mjs's and refcount.mjs's stores are: `null` as the directory, or a temporary one. */
export const MODES = ['memory', 'disk'];
/** How often kv.mjs and refcount.mjs repeat each measurement, keeping the fastest. */
export const REPS = QUICK ? 1 : 3;

/** `--json`: the results as JSON on stdout, and the progress `log` prints on stderr. */
export const AS_JSON = argv.includes('--json');
export const log = (...a) => (AS_JSON ? console.error : console.log)(...a);

export const now = () => process.hrtime.bigint();
export const msSince = t0 => Number(now() - t0) / 1e6;

/** A full collection where node runs with --expose-gc (as every child spawnChild starts does). */
export const gc = () => globalThis.gc?.();

/**
 * This process's peak RSS in KiB: VmHWM on Linux (getrusage's maxRSS is inherited from the
 * parent across fork+exec), getrusage's elsewhere.
 */
export const peakRssKiB = () => {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
};

/** Fixed decimals with thousands separators (not toLocaleString, which SES's lockdown tames). */
export const fmt = (x, d = 2) => {
  const [int, frac] = Math.abs(x).toFixed(d).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${x < 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
};

/** A count for a label: `100k` for 100,000, and as it is below a thousand. */
export const thousands = n => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** xorshift32: deterministic numbers, so that both implementations get the same work. */
export const makeRng = seed => {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
};

/** Prints `rows` (arrays of strings) under `head`, the first `left` columns aligned left. */
export const printTable = (head, rows, left = 1) => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
  const line = r => r.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  log(line(head));
  log(widths.map(w => '-'.repeat(w)).join('-|-'));
  for (const r of rows) log(line(r));
};

/** Runs `script` with `args` in a child node and returns the JSON of its last stdout line. */
export function spawnChild(script, args) {
  const r = spawnSync(process.execPath, ['--expose-gc', script, ...args, ...(QUICK ? ['--quick'] : [])], {
    cwd: process.cwd(),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) {
    process.stderr.write(r.stderr || '');
    throw Error(`child ${args.join(' ')} failed (status ${r.status}, signal ${r.signal})`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Runs `script --worker <impl> --mode <mode>` for every mode and implementation, `reps`
 * times. Each child prints `{ rows: { [row]: { ops, ms } }, maxRssKiB, check }`. Returns
 * `best[mode][impl][row]` (the fastest run), `rss[mode][impl]` (the highest peak) and
 * `checks[mode][impl]` (every run's `check`, to compare the implementations' results).
 */
export function runAlternating({ script, modes, impls, reps }) {
  const best = {};
  const rss = {};
  const checks = {};
  for (const mode of modes) {
    best[mode] = Object.fromEntries(impls.map(impl => [impl, {}]));
    rss[mode] = Object.fromEntries(impls.map(impl => [impl, 0]));
    checks[mode] = Object.fromEntries(impls.map(impl => [impl, []]));
  }
  for (let rep = 0; rep < reps; rep += 1) {
    modes.forEach((mode, mi) => {
      const order = (rep + mi) % 2 === 0 ? impls : [...impls].reverse();
      for (const impl of order) {
        const started = process.hrtime.bigint();
        const res = spawnChild(script, ['--worker', impl, '--mode', mode]);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        log(`  rep ${rep + 1}/${reps} ${mode.padEnd(6)} ${impl.padEnd(6)} ${fmt(seconds, 1)} s`);
        for (const [row, v] of Object.entries(res.rows)) {
          const b = best[mode][impl][row];
          if (!b || v.ms < b.ms) best[mode][impl][row] = v;
        }
        rss[mode][impl] = Math.max(rss[mode][impl], res.maxRssKiB);
        checks[mode][impl].push(res.check);
      }
    });
  }
  return { best, rss, checks };
}

/**
 * Ours against theirs, for every mode and row of `best` (from runAlternating): ops, each side's
 * ms and ops/s, and `ratio` (ours/theirs ops/s), with what `extra(ours, theirs)` adds.
 */
export const compareRows = (best, modes, rows, extra = () => ({})) =>
  modes.flatMap(mode =>
    rows.map(({ id, label, unit }) => {
      const o = best[mode].ours[id];
      const t = best[mode].theirs[id];
      const oursOpsPerSec = (o.ops * 1000) / o.ms;
      const theirsOpsPerSec = (t.ops * 1000) / t.ms;
      return {
        mode,
        row: id,
        label,
        ...(unit && { unit }),
        ops: o.ops,
        oursMs: o.ms,
        theirsMs: t.ms,
        oursOpsPerSec,
        theirsOpsPerSec,
        ratio: oursOpsPerSec / theirsOpsPerSec,
        ...extra(o, t),
      };
    }),
  );

/** What kv.mjs's and refcount.mjs's JSON summaries begin with: the run, and its lowest ratio. */
export const runSummary = (started, rss, minRow) => ({
  reps: REPS,
  node: process.version,
  cpus: os.cpus().length,
  totalSeconds: msSince(started) / 1000,
  peakRssKiB: rss,
  minRatio: { mode: minRow.mode, row: minRow.row, ratio: minRow.ratio },
});

/** Prints each mode's peak RSS of ours and theirs (`rss` from runAlternating). */
export const printPeakRss = (rss, modes) => {
  for (const mode of modes) {
    const mib = k => `${fmt(k / 1024, 1)} MiB`;
    log(`peak RSS (${mode}): ours ${mib(rss[mode].ours)}, theirs ${mib(rss[mode].theirs)}`);
  }
};

/** `{ impl, mode }` from a child's command line (`flag <impl> --mode <mode>`), checked. */
export const workerArgs = (script, flag, impls, modes) => {
  const impl = argOf(flag);
  const mode = argOf('--mode') || 'memory';
  if (!impls.includes(impl) || !modes.includes(mode)) {
    throw Error(`usage: node ${script} ${flag} ${impls.join('|')} --mode ${modes.join('|')}`);
  }
  return { impl, mode };
};

/**
 * A child of runAlternating: `run(dir, sizes)` on the `warm` sizes (a warm-up, on a store of
 * its own), then on the `full` sizes, each store fresh, in memory or (mode 'disk') in a new
 * temporary directory. Prints the timed run's `{ rows, check }` with the peak RSS.
 */
export async function runWorker({ impl, mode, label, run, warm, full }) {
  const dirs = [];
  const newDir = () => {
    if (mode === 'memory') return null;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-${impl}-`));
    dirs.push(dir);
    return dir;
  };
  try {
    await run(newDir(), warm);
    const { rows, check } = await run(newDir(), full);
    process.stdout.write(`${JSON.stringify({ impl, mode, rows, check, maxRssKiB: peakRssKiB() })}\n`);
  } finally {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The crank API of kv.mjs's and refcount.mjs's workloads over `crank`, committed by `host`. */
const crankApi = (crank, host) => ({
  kv: crank.kvStore,
  startCrank: () => crank.startCrank(),
  savepoint: n => crank.establishCrankSavepoint(n),
  rollback: n => crank.rollbackCrank(n),
  emit: () => crank.emitCrankHashes(),
  endCrank: () => crank.endCrank(),
  commit: async () => host.commit(),
  close: async () => host.close(),
  activityhash: () => crank.getActivityhash(),
});

/**
 * One store behind one crank API, in memory when `dir` is null: `ours`, the native
 * KernelStore (as `store`); `theirs`, @agoric/swing-store's (its `kernelStorage`), SES first.
 */
export async function openCrankStore(impl, dir) {
  if (impl === 'ours') {
    const { KernelStore } = createRequire(import.meta.url)('../index.js');
    const store = KernelStore.open(dir, {});
    return { store, ...crankApi(store, store) };
  }
  await import('@endo/init');
  const { initSwingStore } = await import('@agoric/swing-store');
  const { kernelStorage, hostStorage } = initSwingStore(dir);
  return { kernelStorage, ...crankApi(kernelStorage, hostStorage) };
}
