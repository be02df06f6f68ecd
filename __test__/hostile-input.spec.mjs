// Hostile input (issue #6, part 3): a seeded fuzzer calls every exported function and method,
// native and swing-store-compatible, with wrong types, huge strings, NUL bytes, lone
// surrogates, bad counts and malformed capdata. Each call must succeed as documented or throw
// an Error with a code; the process must never crash; a throwing call must leave the store as
// it was. The fuzzer runs in a child process (fixtures/fuzz-child.mjs) so that an abort is an
// exit status here. When it dies, the call it was making is recorded and the run is repeated
// without calls of that kind, so one crash does not hide every other finding.
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

const CHILD = fileURLToPath(new URL('./fixtures/fuzz-child.mjs', import.meta.url));
const SEED = Number(process.env.FUZZ_SEED ?? 0x6b5e6);
const MIN_CALLS = 20_000;
/**
 * Every function and method is called at least this often over the whole run (close, which
 * only the use-after-close phase calls at random, least of all).
 */
const MIN_CALLS_PER_SURFACE = 20;
/** A run that takes longer than this is hung (a whole run takes well under a minute). */
const RUN_TIMEOUT_MS = 120_000;
/** After this many crashes the fuzzer stops re-running and reports what it has. */
const MAX_CRASHES = 10;

const runChild = args =>
  new Promise(resolve => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', chunk => {
      stdout += chunk;
    });
    child.stderr.on('data', chunk => {
      stderr = (stderr + chunk).slice(-4000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });

test.before(async t => {
  const started = Date.now();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-input-'));
  const traceFile = path.join(root, 'trace.json');
  const avoidFile = path.join(root, 'avoid.json');
  const avoid = [];
  const crashes = [];
  let summary;
  try {
    while (!summary && crashes.length <= MAX_CRASHES) {
      fs.writeFileSync(avoidFile, JSON.stringify(avoid));
      fs.rmSync(traceFile, { force: true });
      const dir = path.join(root, `run${crashes.length}`);
      const run = await runChild(['--seed', String(SEED), '--dir', dir, '--trace', traceFile, '--avoid-file', avoidFile]);
      if (run.code === 0 && !run.timedOut) {
        summary = JSON.parse(run.stdout.trim().split('\n').at(-1));
        break;
      }
      const last = fs.existsSync(traceFile) ? JSON.parse(fs.readFileSync(traceFile, 'utf8')) : undefined;
      crashes.push({
        how: run.timedOut ? `hung (killed after ${RUN_TIMEOUT_MS} ms)` : `exit code ${run.code}, signal ${run.signal}`,
        seed: SEED,
        index: last?.index,
        call: last?.call ?? '(before the first call)',
        avoided: [...avoid],
        stderr: run.stderr.split('\n').filter(line => !/^\s+\d+: |^\s+at /.test(line)).slice(-6).join('\n'),
      });
      if (!last) break;
      avoid.push(...last.signatures);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  t.log(
    `seed ${SEED}: ${summary?.calls ?? 0} calls; the last run took ${summary?.elapsedMs} ms ` +
      `(${summary?.checkMs} ms of it checking the store); ${crashes.length + 1} run(s) in ${Date.now() - started} ms`,
  );
  t.context = { summary, crashes, avoid };
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

test('every throw is an Error', t => {
  t.deepEqual(findings(t, ['non-error-thrown']), []);
});

test("a wrong `this` is refused by the engine's receiver check before the addon runs", t => {
  // Counted apart from the addon's errors (fixtures/fuzz-child.mjs, ENGINE_RECEIVER_CHECK):
  // V8 rejects it with an uncoded `TypeError: Illegal invocation`, as for Node's own classes.
  t.true((t.context.summary?.engineReceiverChecks ?? 0) > 0);
});

test('every error carries a string code', t => {
  t.deepEqual(findings(t, ['uncoded-error']), []);
});

test("every code is one of the project's ERR_* codes (or Node's own), never an N-API status name", t => {
  t.deepEqual(findings(t, ['unconventional-code']), []);
});

test('a throwing call leaves the kvStore, activity hash, transcripts, snapshots and bundles unchanged', t => {
  t.deepEqual(findings(t, ['changed-store-on-throw']), []);
});

test('a throwing call feeds nothing to the crank hash', t => {
  t.deepEqual(findings(t, ['hashed-on-throw']), []);
});

test('a throwing call adds nothing to the maybe-free set', t => {
  t.deepEqual(findings(t, ['maybe-free-on-throw']), []);
});

test('a successful call returns what its documentation says, and its write can be read back', t => {
  t.deepEqual(findings(t, ['undocumented-result', 'documented-effect']), []);
});

test('a call into the store from its own export callback is refused', t => {
  t.deepEqual(findings(t, ['reentrant-call']), []);
});

test('after close, every call that needs the store throws a coded error', t => {
  t.deepEqual(findings(t, ['succeeded-after-close']), []);
});

test('the fuzzer itself runs without faults or unhandled rejections', t => {
  t.deepEqual(findings(t, ['harness', 'unhandled']), []);
});
