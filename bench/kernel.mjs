// Benchmark: a real SwingSet kernel (@agoric/swingset-vat 0.33.0, local workers, on disk) on
// this package's swing-store-compatible entry (`ours`, lib/index.mjs) and on
// `@agoric/swing-store` 0.10.0 (`theirs`), in one run, end to end.
//
//   node bench/kernel.mjs                # table
//   node bench/kernel.mjs --json         # results as JSON (progress goes to stderr)
//   node bench/kernel.mjs --breakdown    # also time every store call, for every workload
//   node bench/kernel.mjs --no-breakdown # never run the instrumented pass
//   node bench/kernel.mjs --quick        # smoke test: 10 cycles, 1,000 pings, one run each
//
// Workloads (bench/vats/):
//   cycles    200 create -> upgrade with vatParameters -> upgrade without -> terminate cycles
//             of a dynamic vat through vat-admin, one cycle per controller.run() + commit.
//   messages  10,000 pings from a pinger vat to a ponger vat (E(ponger).ping(i, token), the
//             same object reference in every message), 100 batches of 100, one batch per
//             controller.run() + commit.
// Each starts with a few untimed warm-up iterations on the same kernel. Measured: cranks/s
// (sum of controller.run()'s return values over the timed wall time, which includes the
// commits), iterations/s, hostStorage.commit() latency (mean and max), and each
// implementation's peak RSS. The final activityhash must agree between the two.
//
// A child builds the kernel's bundles (buildKernelBundles, passed as initializeSwingset's
// `kernelBundles` and makeSwingsetController's `kernelBundle`) and the vats' bundles once, into
// a temp file every worker reads, so no bundling is timed. The parent spawns one child process
// per (implementation, workload, repetition), alternating the implementations, and keeps the
// best of the workload's `reps` (~4 minutes in all on an idle 2-core machine). Peak RSS is the
// worker's VmHWM: on Linux getrusage's maxRSS is inherited from the parent across fork+exec.
// For every workload where ours is below 1.0x (every workload with --breakdown), it then runs
// one more instrumented child per implementation that times every call into kernelStorage,
// splitting the time between the store, commit and the kernel's and vats' own JS; those runs
// carry the instrumentation's overhead and are not in the ratios.
// Internal: node bench/kernel.mjs --worker ours|theirs --workload cycles|messages --bundles FILE [--instrument]
//           node bench/kernel.mjs --build-bundles FILE

import '@endo/init';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AS_JSON, IMPLS, QUICK, argOf, argv, fmt, log, msSince, now, peakRssKiB, printTable } from './harness.mjs';

const WORKLOADS = {
  cycles: {
    label: '200 create/upgrade/upgrade/terminate cycles',
    reps: 2,
    warm: 5,
    iterations: 200,
    per: 1,
    unit: 'cycles',
  },
  messages: { label: '10,000 pings, batches of 100', reps: 2, warm: 5, iterations: 100, per: 100, unit: 'pings' },
};
if (QUICK) {
  Object.assign(WORKLOADS.cycles, { label: '10 create/upgrade/upgrade/terminate cycles (quick)', reps: 1, iterations: 10 });
  Object.assign(WORKLOADS.messages, { label: '1,000 pings, batches of 100 (quick)', reps: 1, iterations: 10 });
}
const MAX_REPS = Math.max(...Object.values(WORKLOADS).map(w => w.reps));

const vatFile = name =>
  fileURLToPath(
    // The dynamic vat is the kernel scenario's own; the rest drive the bench's workloads.
    new URL(name === 'dynamic' ? '../demo/vats/dynamic.js' : `./vats/${name}.js`, import.meta.url),
  );

// ---------------------------------------------------------------- worker ---

/**
 * A kernelStorage whose every function (and every function of its stores) adds its wall time
 * and a count to `stats`, keyed `facet.method`. Promises are timed until they settle.
 */
function instrumentKernelStorage(kernelStorage, stats) {
  const timed = (name, fn) => {
    const s = (stats[name] = { calls: 0, ms: 0 });
    return (...args) => {
      const t0 = now();
      const r = fn(...args);
      if (r && typeof r.then === 'function') {
        return r.finally(() => {
          s.calls += 1;
          s.ms += msSince(t0);
        });
      }
      s.calls += 1;
      s.ms += msSince(t0);
      return r;
    };
  };
  const wrapFacet = (facetName, facet) =>
    Object.fromEntries(Object.entries(facet).map(([k, v]) => [k, typeof v === 'function' ? timed(`${facetName}.${k}`, v) : v]));
  const out = {};
  for (const [k, v] of Object.entries(kernelStorage)) {
    out[k] = typeof v === 'function' ? timed(k, v) : wrapFacet(k, v);
  }
  return out;
}

async function openStore(impl, dir) {
  const { initSwingStore } =
    impl === 'ours' ? await import('../lib/index.mjs') : await import('@agoric/swing-store');
  return initSwingStore(dir);
}

async function worker(impl, workloadName, bundlesFile, instrument) {
  const { initializeSwingset, makeSwingsetController } = await import('@agoric/swingset-vat');
  const { kunser } = await import('@agoric/kmarshal');
  const { kernelBundles, vatBundles } = JSON.parse(fs.readFileSync(bundlesFile, 'utf8'));
  const w = WORKLOADS[workloadName];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kernelbench-${impl}-`));
  try {
    const swingStore = await openStore(impl, dir);
    const { hostStorage } = swingStore;
    const stats = {};
    const kernelStorage = instrument
      ? instrumentKernelStorage(swingStore.kernelStorage, stats)
      : swingStore.kernelStorage;

    const config = {
      bootstrap: 'bootstrap',
      // The host messages the bootstrap root between batches; unpinned, the vat is told to
      // drop it and may lose it to a GC (see demo/kernel-scenario.mjs).
      pinBootstrapRoot: true,
      defaultManagerType: 'local',
      defaultReapInterval: 'never',
      vats: {
        bootstrap: { bundle: vatBundles.bootstrap },
        pinger: { bundle: vatBundles.pinger },
        ponger: { bundle: vatBundles.ponger },
      },
      bundles: { dynamic: { bundle: vatBundles.dynamic } },
    };
    await initializeSwingset(config, [], kernelStorage, { kernelBundles });
    await hostStorage.commit();
    const controller = await makeSwingsetController(kernelStorage, {}, { kernelBundle: kernelBundles.kernel });
    await controller.run();
    await hostStorage.commit();

    // One iteration: queue to a vat root, run to quiescence, commit; checks the answer.
    const iterate = async i => {
      const [vat, method, args, expected] =
        workloadName === 'cycles'
          ? ['bootstrap', 'cycles', [w.per], w.per]
          : ['pinger', 'pingBatch', [i * w.per, w.per], w.per * (i * w.per + 1) + (w.per * (w.per - 1)) / 2];
      const kpid = controller.queueToVatRoot(vat, method, args, 'ignore');
      const cranks = await controller.run();
      const t0 = now();
      await hostStorage.commit();
      const commitMs = msSince(t0);
      const status = controller.kpStatus(kpid);
      const answer = status === 'fulfilled' ? kunser(controller.kpResolution(kpid)) : status;
      if (answer !== expected) throw Error(`${method} #${i} answered ${answer}, expected ${expected}`);
      return { cranks, commitMs };
    };

    let i = 0;
    for (; i < w.warm; i += 1) await iterate(i);
    for (const s of Object.values(stats)) Object.assign(s, { calls: 0, ms: 0 });

    // (No forced GC here: with --expose-gc, liveslots in local workers gets a real engine GC and
    // the cycles workload fails in SwingSet itself, on either store.)
    let cranks = 0;
    const commits = [];
    const t0 = now();
    for (let n = 0; n < w.iterations; n += 1, i += 1) {
      const r = await iterate(i);
      cranks += r.cranks;
      commits.push(r.commitMs);
    }
    const ms = msSince(t0);

    const activityhash = swingStore.kernelStorage.getActivityhash();
    const crankNumber = swingStore.kernelStorage.kvStore.get('crankNumber');
    await controller.shutdown();
    await hostStorage.close();
    const maxRssKiB = peakRssKiB();
    const result = {
      impl,
      workload: workloadName,
      ms,
      cranks,
      units: w.iterations * w.per,
      commitMeanMs: commits.reduce((a, b) => a + b, 0) / commits.length,
      commitMaxMs: Math.max(...commits),
      commits: commits.length,
      check: { activityhash, crankNumber },
      maxRssKiB,
      ...(instrument && { stats }),
    };
    process.stdout.write(`\nKERNEL-BENCH-RESULT ${JSON.stringify(result)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- parent ---

async function buildBundles(file) {
  const { buildKernelBundles } = await import('@agoric/swingset-vat');
  // @agoric/swingset-vat's own bundler (a dependency of it), for the vats' bundles.
  const { default: bundleSource } = await import('@endo/bundle-source');
  const [kernelBundles, ...vats] = await Promise.all([
    buildKernelBundles(),
    ...['bootstrap', 'pinger', 'ponger', 'dynamic'].map(name => bundleSource(vatFile(name))),
  ]);
  const [bootstrap, pinger, ponger, dynamic] = vats;
  fs.writeFileSync(file, JSON.stringify({ kernelBundles, vatBundles: { bootstrap, pinger, ponger, dynamic } }));
}

function spawnWorker(impl, workload, bundlesFile, instrument = false) {
  const self = fileURLToPath(import.meta.url);
  const args = [self, '--worker', impl, '--workload', workload, '--bundles', bundlesFile];
  if (instrument) args.push('--instrument');
  if (QUICK) args.push('--quick');
  const r = spawnSync(process.execPath, args, {
    cwd: process.cwd(),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = (r.stdout || '').split('\n').find(l => l.startsWith('KERNEL-BENCH-RESULT '));
  if (r.status !== 0 || !line) {
    process.stderr.write((r.stderr || '').slice(-5000));
    throw Error(`worker ${impl}/${workload} failed (status ${r.status}, signal ${r.signal})`);
  }
  return JSON.parse(line.slice('KERNEL-BENCH-RESULT '.length));
}

/** The breakdown of an instrumented run: time in store calls, by facet, and the rest. */
function breakdown(res) {
  const byFacet = {};
  let storeMs = 0;
  let calls = 0;
  for (const [name, s] of Object.entries(res.stats)) {
    const facet = name.includes('.') ? name.split('.')[0] : 'crank';
    byFacet[facet] ??= { calls: 0, ms: 0 };
    byFacet[facet].calls += s.calls;
    byFacet[facet].ms += s.ms;
    storeMs += s.ms;
    calls += s.calls;
  }
  const top = Object.entries(res.stats)
    .filter(([, s]) => s.calls > 0)
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 6)
    .map(([name, s]) => ({ name, calls: s.calls, ms: s.ms, usPerCall: (s.ms * 1000) / s.calls }));
  return {
    totalMs: res.ms,
    commitMs: res.commitMeanMs * res.commits,
    storeMs,
    storeCalls: calls,
    kernelJsMs: res.ms - storeMs - res.commitMeanMs * res.commits,
    byFacet,
    top,
  };
}

async function parent() {
  const breakdownMode = argv.includes('--no-breakdown') ? 'never' : argv.includes('--breakdown') ? 'all' : 'below1';
  const started = now();
  const loadBefore = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kernelbench-bundles-'));
  const bundlesFile = path.join(tmp, 'bundles.json');
  try {
    let t = now();
    const built = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--build-bundles', bundlesFile], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (built.status !== 0) {
      process.stderr.write(built.stderr || '');
      throw Error(`building the bundles failed (status ${built.status})`);
    }
    log(`  bundles built (untimed) in ${fmt(msSince(t) / 1000, 1)} s`);

    const best = {};
    const rss = { ours: 0, theirs: 0 };
    const checks = {};
    for (const wl of Object.keys(WORKLOADS)) {
      best[wl] = {};
      checks[wl] = [];
    }
    for (let rep = 0; rep < MAX_REPS; rep += 1) {
      Object.keys(WORKLOADS).forEach((wl, wi) => {
        if (rep >= WORKLOADS[wl].reps) return;
        const order = (rep + wi) % 2 === 0 ? IMPLS : [...IMPLS].reverse();
        for (const impl of order) {
          t = now();
          const res = spawnWorker(impl, wl, bundlesFile);
          log(`  rep ${rep + 1}/${WORKLOADS[wl].reps} ${wl.padEnd(8)} ${impl.padEnd(6)} ${fmt(msSince(t) / 1000, 1)} s (timed ${fmt(res.ms / 1000, 1)} s)`);
          const b = best[wl][impl];
          if (!b || res.ms < b.ms) best[wl][impl] = res;
          // Commit latency and RSS: the best (lowest) over repetitions, like the times.
          if (b) {
            best[wl][impl].commitMeanMs = Math.min(b.commitMeanMs, res.commitMeanMs);
            best[wl][impl].commitMaxMs = Math.min(b.commitMaxMs, res.commitMaxMs);
          }
          rss[impl] = Math.max(rss[impl], res.maxRssKiB);
          best[wl][impl].peakRssKiB = Math.max(b ? b.peakRssKiB : 0, res.maxRssKiB);
          checks[wl].push({ impl, ...res.check });
        }
      });
    }

    const results = [];
    for (const [wl, w] of Object.entries(WORKLOADS)) {
      const o = best[wl].ours;
      const th = best[wl].theirs;
      const cps = r => (r.cranks * 1000) / r.ms;
      const ups = r => (r.units * 1000) / r.ms;
      results.push({
        workload: wl,
        label: w.label,
        unit: w.unit,
        reps: w.reps,
        cranks: o.cranks,
        oursMs: o.ms,
        theirsMs: th.ms,
        oursCranksPerSec: cps(o),
        theirsCranksPerSec: cps(th),
        ratio: cps(o) / cps(th),
        oursUnitsPerSec: ups(o),
        theirsUnitsPerSec: ups(th),
        commits: o.commits,
        oursCommitMeanMs: o.commitMeanMs,
        theirsCommitMeanMs: th.commitMeanMs,
        // As a speed (theirs/ours latency), so that above 1.0 means ours is faster, like `ratio`.
        commitMeanSpeedRatio: th.commitMeanMs / o.commitMeanMs,
        oursCommitMaxMs: o.commitMaxMs,
        theirsCommitMaxMs: th.commitMaxMs,
        oursPeakRssKiB: o.peakRssKiB,
        theirsPeakRssKiB: th.peakRssKiB,
      });
    }

    // Same deterministic kernel work: the final activityhash and crank count must agree.
    const mismatches = Object.keys(WORKLOADS).filter(
      wl => new Set(checks[wl].map(c => `${c.activityhash} ${c.crankNumber}`)).size !== 1,
    );

    const breakdowns = {};
    const toBreakDown = results
      .filter(r => breakdownMode === 'all' || (breakdownMode === 'below1' && r.ratio < 1))
      .map(r => r.workload);
    const withBreakdown = toBreakDown.length > 0;
    if (withBreakdown) {
      for (const wl of toBreakDown) {
        breakdowns[wl] = {};
        for (const impl of IMPLS) {
          t = now();
          breakdowns[wl][impl] = breakdown(spawnWorker(impl, wl, bundlesFile, true));
          log(`  instrumented ${wl.padEnd(8)} ${impl.padEnd(6)} ${fmt(msSince(t) / 1000, 1)} s`);
        }
      }
    }

    const minRow = results.reduce((a, b) => (b.ratio < a.ratio ? b : a));
    const summary = {
      reps: Object.fromEntries(Object.entries(WORKLOADS).map(([wl, w]) => [wl, w.reps])),
      node: process.version,
      cpus: os.cpus().length,
      totalSeconds: msSince(started) / 1000,
      loadAverage: { before: loadBefore, after: os.loadavg() },
      peakRssKiB: rss,
      minRatio: { workload: minRow.workload, ratio: minRow.ratio },
      checksAgree: mismatches.length === 0,
      checks: Object.fromEntries(Object.keys(WORKLOADS).map(wl => [wl, checks[wl][0]])),
      ...(withBreakdown && { breakdown: breakdowns }),
    };

    if (AS_JSON) {
      console.log(JSON.stringify({ results, ...summary }, null, 2));
      return;
    }
    const head = [
      'workload',
      'cranks',
      'ours cranks/s',
      'theirs cranks/s',
      'ours/theirs',
      'commits',
      'commit mean ms ours / theirs',
      'commit max ms ours / theirs',
      'peak RSS MiB ours / theirs',
    ];
    const mib = k => fmt(k / 1024, 1);
    const lines = results.map(r => [
      r.label,
      fmt(r.cranks, 0),
      fmt(r.oursCranksPerSec, 0),
      fmt(r.theirsCranksPerSec, 0),
      fmt(r.ratio),
      String(r.commits),
      `${fmt(r.oursCommitMeanMs)} / ${fmt(r.theirsCommitMeanMs)}`,
      `${fmt(r.oursCommitMaxMs)} / ${fmt(r.theirsCommitMaxMs)}`,
      `${mib(r.oursPeakRssKiB)} / ${mib(r.theirsPeakRssKiB)}`,
    ]);
    log();
    log(
      `SwingSet kernel benchmark (local workers, on disk), best of ${Object.entries(WORKLOADS).map(([wl, w]) => `${w.reps} (${wl})`).join(', ')}, node ${process.version}, ${os.cpus().length} cpus`,
    );
    printTable(head, lines, 1);
    console.log();
    const la = a => a.map(x => fmt(x)).join(' ');
    console.log(`load average (1/5/15 min): before ${la(loadBefore)}, after ${la(os.loadavg())}`);
    console.log(`peak RSS over all runs: ours ${mib(rss.ours)} MiB, theirs ${mib(rss.theirs)} MiB`);
    console.log(
      `checks (final activityhash and crankNumber) ${
        mismatches.length ? `DIFFER in: ${mismatches.join(', ')}` : 'agree between ours and theirs'
      }`,
    );
    if (withBreakdown) {
      console.log();
      console.log('where the time goes (one instrumented run each; instrumentation adds overhead):');
      for (const [wl, byImpl] of Object.entries(breakdowns)) {
        for (const [impl, b] of Object.entries(byImpl)) {
          const pct = x => `${fmt((100 * x) / b.totalMs, 1)}%`;
          const facets = Object.entries(b.byFacet)
            .filter(([, f]) => f.calls > 0)
            .sort((x, y) => y[1].ms - x[1].ms)
            .map(([f, s]) => `${f} ${fmt(s.ms, 0)} ms/${s.calls}`)
            .join(', ');
          console.log(
            `  ${wl.padEnd(8)} ${impl.padEnd(6)} total ${fmt(b.totalMs, 0)} ms: store calls ${fmt(b.storeMs, 0)} ms (${pct(b.storeMs)}, ${b.storeCalls} calls), commit ${fmt(b.commitMs, 0)} ms (${pct(b.commitMs)}), kernel+vats JS ${fmt(b.kernelJsMs, 0)} ms (${pct(b.kernelJsMs)})`,
          );
          console.log(`           by facet: ${facets}`);
          console.log(
            `           top: ${b.top.map(x => `${x.name} ${fmt(x.ms, 0)} ms (${x.calls} x ${fmt(x.usPerCall, 1)} µs)`).join(', ')}`,
          );
        }
      }
    }
    console.log();
    console.log(
      `minimum ratio ours/theirs (cranks/s): ${fmt(minRow.ratio)} (${minRow.label}); total ${fmt(summary.totalSeconds, 1)} s`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (argv.includes('--build-bundles')) {
  await buildBundles(argOf('--build-bundles'));
} else if (argv.includes('--worker')) {
  const impl = argOf('--worker');
  const workload = argOf('--workload');
  const bundlesFile = argOf('--bundles');
  if (!IMPLS.includes(impl) || !(workload in WORKLOADS) || !bundlesFile) {
    throw Error('usage: node bench/kernel.mjs --worker ours|theirs --workload cycles|messages --bundles FILE [--instrument]');
  }
  await worker(impl, workload, bundlesFile, argv.includes('--instrument'));
} else {
  await parent();
}
