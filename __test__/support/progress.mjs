// Long specs fail for lack of progress, never for taking long. AVA's `timeout` (package.json,
// the same ten minutes as STALL_MS) fails a run when no test finishes for that long across all
// workers: an inactivity limit, which one legitimately long test or hook on a loaded machine
// could still reach while making steady progress. Work that runs long calls `tick()` as it
// moves on; each test or hook that `watch(t)`es it re-arms its own `t.timeout(STALL_MS)` at
// every tick, which also tells AVA that the worker is alive. A test fails only when the work it
// waits for has not moved for STALL_MS.
import { spawn } from 'node:child_process';

/** No tick for this long means the work is stuck: far beyond any step of a slow run. */
export const STALL_MS = 10 * 60_000;
/** Ticks closer together than this re-arm nothing (each re-arm is a message to AVA). */
const TICK_MS = 1000;

export const makeProgress = () => {
  const watching = new Set();
  let last = 0;
  const arm = t => t.timeout(STALL_MS, `no progress for ${STALL_MS / 60_000} minutes`);
  return {
    tick: () => {
      const now = Date.now();
      if (now - last < TICK_MS) return;
      last = now;
      for (const t of watching) arm(t);
    },
    /**
     * Test (or hook) `t`, until it ends, fails only if no tick comes for STALL_MS. (It stays
     * watched: re-arming a test that has ended does nothing, and hooks have no teardown.)
     */
    watch: t => {
      watching.add(t);
      arm(t);
    },
  };
};

/**
 * Runs a command, resolving with `{ code, stdout, stderr, seconds }` (never rejecting on a
 * failure; `seconds` is reported, never judged), and counts every chunk of its output as a tick of
 * `progress`: a long install or build that keeps printing is never taken for a hang.
 */
export const runCommand = (progress, file, args, options = {}) =>
  new Promise(resolve => {
    const started = Date.now();
    const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { stdout: '', stderr: '' };
    for (const name of ['stdout', 'stderr']) {
      child[name].setEncoding('utf8').on('data', data => {
        output[name] += data;
        progress.tick();
      });
    }
    const done = code => resolve({ code, ...output, seconds: (Date.now() - started) / 1000 });
    child.on('error', error => done(error.code ?? 1));
    child.on('close', (code, signal) => done(code ?? signal));
  });
