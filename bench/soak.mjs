// Memory soak: 1M kvStore and refcount operations over 10k cranks on an on-disk store, with
// RSS sampled (after a full GC) as it goes. A leak in the binding — a reference never
// released, a buffer never freed, a cache that only grows — shows as RSS that keeps climbing
// with the operation count instead of levelling off once the working set is cached. RSS also
// steps up when V8 enlarges its young generation under the benchmark's allocation rate, so the
// RSS beyond V8's reserved heap is reported too: that is the store's (and SQLite's) share.
//
//   node --expose-gc bench/soak.mjs [--ops 1000000] [--json]     (npm run bench:soak)
//
// The workload per crank (100 operations): kvStore set / get / getNextKey / delete over a
// bounded key space of 20k keys (so the store itself stops growing), incrementRefCount /
// decrementRefCount pairs over 1,000 objects, and every 10th crank a setVatParameters that
// swaps 3 slots of one of 8 vats. Commits every 10 cranks, as a busy chain's blocks would.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initSwingStore } from '../lib/index.mjs';
import { mulberry32 } from '../__test__/support/prng.mjs';
import { AS_JSON, argOf } from './harness.mjs';

const TOTAL_OPS = Number(argOf('--ops') ?? 1_000_000);
const OPS_PER_CRANK = 100;
const CRANKS_PER_BLOCK = 10;
const KEYS = 20_000;
const OBJECTS = 1_000;
const VATS = 8;
const SAMPLES = 20;

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc, so RSS is sampled after a full collection');
  process.exit(2);
}
/**
 * RSS and V8's share of it, in MiB, after a full GC. V8 grows its young generation in steps
 * under a high allocation rate (heapTotal); what RSS adds beyond heapTotal is native memory.
 */
const sample = ops => {
  globalThis.gc();
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  const mib = bytes => bytes / 2 ** 20;
  return { ops, rssMiB: mib(rss), heapMiB: mib(heapUsed), heapTotalMiB: mib(heapTotal), nativeMiB: mib(rss - heapTotal) };
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-'));
const { kernelStorage, hostStorage, kernelStore } = initSwingStore(dir);
const kv = kernelStorage.kvStore;
const rand = mulberry32(0x50a6);
const pick = n => Math.floor(rand() * n);

kernelStorage.startCrank();
kv.set('vats.terminated', '[]');
for (let i = 1; i <= OBJECTS; i += 1) kv.set(`ko${i}.refCount`, '1,1');
const capdata = slots => ({ body: `#[${slots.map((_, i) => `"$${i}.Alleged: o"`).join(',')}]`, slots });
for (let v = 1; v <= VATS; v += 1) {
  kv.set(`v${v}.options`, '{"name":"soak"}');
  kv.set(`v${v}.o.nextID`, '1');
  kernelStore.createVat(`v${v}`, { vatParameters: capdata(['ko1', 'ko2', 'ko3']) });
}
kernelStorage.endCrank();
await hostStorage.commit();

const samples = [sample(0)];
const sampleEvery = TOTAL_OPS / SAMPLES;
const value = 'v'.repeat(64);
let ops = 0;
let crank = 0;
const started = process.hrtime.bigint();
while (ops < TOTAL_OPS) {
  kernelStorage.startCrank();
  for (let i = 0; i < OPS_PER_CRANK; i += 1) {
    const roll = pick(10);
    const key = `kernel.soak.${pick(KEYS)}`;
    if (roll < 3) kv.set(key, `${value}${ops}`);
    else if (roll < 5) kv.get(key);
    else if (roll < 6) kv.getNextKey(key);
    else if (roll < 7) kv.delete(key);
    else {
      const kref = `ko${1 + pick(OBJECTS)}`;
      kernelStore.incrementRefCount(kref, 'soak');
      kernelStore.decrementRefCount(kref, 'soak');
    }
  }
  if (crank % 10 === 0) {
    const slots = [1, 2, 3].map(() => `ko${1 + pick(OBJECTS)}`);
    kernelStore.setVatParameters(`v${1 + pick(VATS)}`, capdata(slots));
  }
  kernelStorage.endCrank();
  crank += 1;
  if (crank % CRANKS_PER_BLOCK === 0) await hostStorage.commit();
  const before = ops;
  ops += OPS_PER_CRANK;
  if (Math.floor(ops / sampleEvery) > Math.floor(before / sampleEvery)) {
    samples.push(sample(ops));
    const { rssMiB, heapMiB, heapTotalMiB, nativeMiB } = samples.at(-1);
    if (!AS_JSON) {
      process.stderr.write(
        `  ${ops.toLocaleString('en-US').padStart(9)} ops  RSS ${rssMiB.toFixed(1)} MiB` +
          `  V8 heap ${heapMiB.toFixed(1)} used / ${heapTotalMiB.toFixed(1)} reserved  RSS beyond V8 ${nativeMiB.toFixed(1)} MiB\n`,
      );
    }
  }
}
await hostStorage.commit();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await hostStorage.close();
fs.rmSync(dir, { recursive: true, force: true });

// "Flat" is judged on the second half, after the caches have filled: growth there is a leak.
const mid = samples[Math.floor(samples.length / 2)];
const end = samples.at(-1);
const result = {
  ops,
  cranks: crank,
  seconds,
  startRssMiB: samples[0].rssMiB,
  midRssMiB: mid.rssMiB,
  endRssMiB: end.rssMiB,
  maxRssMiB: Math.max(...samples.map(s => s.rssMiB)),
  secondHalfGrowthMiB: end.rssMiB - mid.rssMiB,
  nativeMiB: { start: samples[0].nativeMiB, mid: mid.nativeMiB, end: end.nativeMiB },
  heapTotalMiB: { start: samples[0].heapTotalMiB, end: end.heapTotalMiB },
  samples,
};
if (AS_JSON) console.log(JSON.stringify(result));
else {
  console.log(`\n${ops.toLocaleString('en-US')} operations in ${crank.toLocaleString('en-US')} cranks, ${seconds.toFixed(1)} s`);
  console.log(`RSS start ${result.startRssMiB.toFixed(1)} MiB, after ${mid.ops.toLocaleString('en-US')} ops ${mid.rssMiB.toFixed(1)} MiB, end ${end.rssMiB.toFixed(1)} MiB (max ${result.maxRssMiB.toFixed(1)} MiB)`);
  console.log(`second-half growth: ${result.secondHalfGrowthMiB.toFixed(1)} MiB`);
  const { nativeMiB, heapTotalMiB } = result;
  console.log(
    `RSS beyond V8's heap: start ${nativeMiB.start.toFixed(1)}, middle ${nativeMiB.mid.toFixed(1)}, end ${nativeMiB.end.toFixed(1)} MiB` +
      ` (V8 reserved ${heapTotalMiB.start.toFixed(1)} → ${heapTotalMiB.end.toFixed(1)} MiB)`,
  );
}
