// What bench/kv.mjs and bench/refcount.mjs share: each measurement runs in a child process of
// its own (so each implementation's peak RSS is its own), the implementations alternate which
// goes first, every measurement is repeated and the fastest run of each row is kept.
import { spawnSync } from 'node:child_process';

export const fmt = (x, d = 2) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

/** Runs `script` with `args` in a child node and returns the JSON of its last stdout line. */
export function spawnChild(script, args) {
  const r = spawnSync(process.execPath, ['--expose-gc', script, ...args], {
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
export function runAlternating({ script, modes, impls, reps, log }) {
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
