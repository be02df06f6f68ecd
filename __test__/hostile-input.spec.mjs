// Hostile input (issue #6, part 3; issue 11's exports): a seeded fuzzer calls every exported
// function and method, native and swing-store-compatible (state-sync exporters, importers and
// repair included), with wrong types, huge strings, NUL bytes, lone surrogates, bad counts,
// malformed capdata, hostile export data and hostile exporters. Each call must succeed as
// documented or throw an Error with a code; the process must never crash; a throwing call must
// leave the store as it was, and a failed import nothing behind. The fuzzer runs in a child
// process (fixtures/fuzz-child.mjs) so that an abort is an exit status here. When it dies, the
// call it was making is recorded and the run is repeated without calls of that kind, so one
// crash does not hide every other finding.
//
// The child writes one line per call to a pipe before making it: the last complete line names
// the call a crash happened in, and the lines are its progress. A child that makes no call for
// STALL_MS is hung; how long the whole run takes never matters.
//
// Reproduce any finding with the seed and call index it reports:
//   node __test__/fixtures/fuzz-child.mjs --seed <seed> [--avoid-file <json list>]
// FUZZ_SEED=<n> picks another seed for an exploratory run.
import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeProgress } from './support/progress.mjs';
import { writeFileAtomic } from './support/files.mjs';

const CHILD = fileURLToPath(new URL('./fixtures/fuzz-child.mjs', import.meta.url));
const SEED = Number(process.env.FUZZ_SEED ?? 0x6b5e6);
const MIN_CALLS = 20_000;
/**
 * Every function and method is called at least this often over the whole run (close, which
 * only the use-after-close phase calls, once a round, least of all).
 */
const MIN_CALLS_PER_SURFACE = 20;
/** A child that starts no call for this long is hung: the slowest single call takes seconds. */
const STALL_MS = 120_000;
const WATCH_EVERY_MS = 5000;
/**
 * A call that allocates or writes without bound must fail in the child before it fills the
 * machine's memory or disk: the child is killed when its resident memory passes RSS_LIMIT_KIB
 * (a run uses a few hundred MB), and its address space and files are capped far above what a
 * run uses (reserving without touching, as an allocation for a hostile maximum length does,
 * stays within them).
 */
const RSS_LIMIT_KIB = 3 * 1024 * 1024;
const ADDRESS_SPACE_LIMIT_KIB = 16 * 1024 * 1024;
const FILE_LIMIT_BLOCKS = 2 * 1024 * 1024;
const RSS_EVERY_MS = 250;
/** After this many crashes the fuzzer stops re-running and reports what it has. */
const MAX_CRASHES = 10;

/** The resident memory of process `pid` in KiB, or 0 once it is gone. */
const residentKiB = pid => {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

const progress = makeProgress();

/**
 * Runs the fuzz child with the trace on descriptor 3. Resolves once it has exited with its
 * status, output, why it was killed if it was, and its last complete trace line (the call it
 * was in).
 */
const runChild = args =>
  new Promise(resolve => {
    // Through the shell, whose ulimit sets the limits node cannot set for a child (where the
    // system allows them); exec keeps the pid.
    const limits = `ulimit -v ${ADDRESS_SPACE_LIMIT_KIB} 2>/dev/null; ulimit -f ${FILE_LIMIT_BLOCKS} 2>/dev/null`;
    const command = `${limits}; exec "$0" "$@"`;
    const child = spawn('/bin/sh', ['-c', command, process.execPath, CHILD, ...args, '--trace-fd', '3'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    let last;
    let killed;
    let heard = Date.now();
    const hear = () => {
      heard = Date.now();
      progress.tick();
    };
    child.stdout.on('data', chunk => {
      stdout += chunk;
      hear();
    });
    child.stderr.on('data', chunk => {
      stderr = (stderr + chunk).slice(-4000);
      hear();
    });
    child.stdio[3].on('data', chunk => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      if (lines.length > 0) last = lines.at(-1);
      hear();
    });
    const kill = why => {
      killed ??= why;
      child.kill('SIGKILL');
    };
    const stallWatch = setInterval(() => {
      if (Date.now() - heard > STALL_MS) kill(`hung (no call for ${STALL_MS / 1000} s)`);
    }, WATCH_EVERY_MS);
    const memoryWatch = setInterval(() => {
      if (residentKiB(child.pid) > RSS_LIMIT_KIB) kill(`killed: resident memory passed ${RSS_LIMIT_KIB >> 20} GiB`);
    }, RSS_EVERY_MS);
    child.on('close', (code, signal) => {
      clearInterval(stallWatch);
      clearInterval(memoryWatch);
      resolve({ code, signal, stdout, stderr, killed, last: last && JSON.parse(last) });
    });
  });

/** Runs the fuzzer, re-running it without the kind of call that crashed it, up to MAX_CRASHES times. */
const fuzz = async t => {
  const started = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-input-'));
  const avoidFile = path.join(root, 'avoid.json');
  const avoid = [];
  const crashes = [];
  let summary;
  try {
    while (!summary && crashes.length <= MAX_CRASHES) {
      writeFileAtomic(avoidFile, JSON.stringify(avoid));
      const dir = path.join(root, `run${crashes.length}`);
      const run = await runChild(['--seed', String(SEED), '--dir', dir, '--avoid-file', avoidFile]);
      if (run.code === 0) {
        summary = JSON.parse(run.stdout.trim().split('\n').at(-1));
        break;
      }
      const { surface, signatures = [] } = run.last ?? {};
      const suspectOf = signature => (signature.startsWith(`${surface} | `) ? signature.slice(surface.length + 3) : undefined);
      const suspects = signatures.map(suspectOf).filter(part => part !== undefined);
      // A surface that crashes again with other arguments is left out of later runs altogether,
      // and so is a suspect value that crashes a second surface.
      const crashedBefore = new Set(crashes.flatMap(c => c.suspects));
      const again = crashes.some(c => c.surface === surface);
      crashes.push({
        how: run.killed ?? `exit code ${run.code}, signal ${run.signal}`,
        seed: SEED,
        index: run.last?.index,
        surface,
        suspects,
        call: run.last?.call ?? '(before the first call)',
        avoided: [...avoid],
        stderr: run.stderr.split('\n').filter(line => !/^\s+\d+: |^\s+at /.test(line)).slice(-6).join('\n'),
      });
      if (!run.last) break;
      if (again) avoid.push(`${surface} | *`);
      else avoid.push(...signatures.map(s => (crashedBefore.has(suspectOf(s)) ? `* | ${suspectOf(s)}` : s)));
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  t.log(
    `seed ${SEED}: ${summary?.calls ?? 0} calls; the last run took ${summary?.elapsedMs} ms ` +
      `(${summary?.checkMs} ms of it checking the store); ${crashes.length + 1} run(s) in ${Date.now() - started} ms`,
  );
  return { summary, crashes, avoid };
};

test.before(async t => {
  progress.watch(t);
  t.context = await fuzz(t);
});

/** The failures of the given kinds, each printed with how to reproduce it. */
const findings = (t, kinds) => {
  const { summary, avoid } = t.context;
  if (!summary) return ['the fuzzer never completed a run (see the crash test)'];
  const found = summary.failures.filter(f => kinds.includes(f.kind));
  for (const f of found) {
    const where = f.surfaces.length > 1 ? ` on ${f.surfaces.join(', ')}` : '';
    t.log(
      `[${f.kind}] ${f.surface}: ${f.problem} (×${f.count}${where})\n` +
        `    first: seed ${f.first.seed}, call #${f.first.index} (${f.first.phase}): ${f.first.call}` +
        `${f.first.detail ? `\n    detail: ${f.first.detail}` : ''}`,
    );
  }
  if (found.length && avoid.length) t.log(`(re-run with --avoid-file holding ${JSON.stringify(avoid)})`);
  return found.map(f => `${f.surface}: ${f.problem}`);
};

test('every exported function and method has an argument generator', t => {
  const { summary } = t.context;
  t.truthy(summary, 'the fuzzer never completed a run');
  t.deepEqual(summary?.uncovered, [], 'surface the fuzzer cannot call');
  t.deepEqual(summary?.stale, [], 'generators for surface that no longer exists');
});

test('the fuzzer makes at least 20,000 calls, reaching every function and method', t => {
  const { summary } = t.context;
  t.true((summary?.calls ?? 0) >= MIN_CALLS, `${summary?.calls} calls`);
  const rare = Object.entries(summary?.stats ?? {})
    .filter(([, s]) => s.calls + s.skipped < MIN_CALLS_PER_SURFACE)
    .map(([name, s]) => `${name}: ${s.calls}`);
  t.deepEqual(rare, []);
});

test('valid-looking arguments reach the success path of every function and method that has one', t => {
  t.deepEqual(t.context.summary?.neverSucceeded, []);
});

test('no call crashes, aborts or hangs the process', t => {
  const { crashes } = t.context;
  for (const c of crashes) {
    t.log(
      `[crash] ${c.how} at seed ${c.seed}, call #${c.index}: ${c.call}\n` +
        `    avoided: ${JSON.stringify(c.avoided)}\n    stderr: ${c.stderr.replaceAll('\n', '\n            ')}`,
    );
  }
  t.deepEqual(crashes.map(c => c.call), []);
});

test("a wrong `this` is refused by the engine's receiver check before the addon runs", t => {
  // Counted apart from the addon's errors (fixtures/fuzz-child.mjs, ENGINE_RECEIVER_CHECK):
  // V8 rejects it with an uncoded `TypeError: Illegal invocation`, as for Node's own classes.
  t.true((t.context.summary?.engineReceiverChecks ?? 0) > 0);
});

/** Each behaviour below holds when the fuzzer found no failure of its kinds. */
const NO_FAILURES_OF = [
  ['every throw is an Error', ['non-error-thrown']],
  ['every error carries a string code', ['uncoded-error']],
  ["every code is one of the project's ERR_* codes (or Node's own), never an N-API status name", ['unconventional-code']],
  ['a throwing call leaves the kvStore, activity hash, artifact records and stored artifacts unchanged', ['changed-store-on-throw']],
  ['a failed import leaves nothing in its directory', ['half-made']],
  ['no call, read-only SQL included, leaves the store unable to write and commit', ['broke-store']],
  ['a throwing call feeds nothing to the crank hash', ['hashed-on-throw']],
  ['a throwing call adds nothing to the maybe-free set', ['maybe-free-on-throw']],
  ['a successful call returns what its documentation says, and its write can be read back', ['undocumented-result', 'documented-effect']],
  ['a call into the store from its own export callback is refused', ['reentrant-call']],
  ['after close, every call that needs the store throws a coded error', ['succeeded-after-close']],
  ['the fuzzer itself runs without faults or unhandled rejections', ['harness', 'unhandled']],
];
for (const [behaviour, kinds] of NO_FAILURES_OF) {
  test(behaviour, t => {
    t.deepEqual(findings(t, kinds), []);
  });
}
