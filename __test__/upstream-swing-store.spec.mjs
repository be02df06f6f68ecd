// @agoric/swing-store 0.10.0's own test suite (the `test/` folder of its npm package), run
// against our entry. It is copied from node_modules into a scratch folder at run time and
// never committed; a generated `src/` beside it hands it our exports under swing-store's
// module names (see upstream/harness.mjs). Every test must pass, except those listed with a
// reason in upstream/known-failures.mjs — and each listed test must still fail.
//
// UPSTREAM_TARGET=swing-store runs the same suite against @agoric/swing-store itself, which
// validates the harness: there, all 85 pass and the known-failures list does not apply.
// UPSTREAM_KEEP_SCRATCH=1 keeps the scratch folder (under .upstream-swing-store/) to rerun a
// test by hand: `cd <folder> && npx ava test/<file> --match '<title>'`.
import test from 'ava';
import fs from 'node:fs';
import { parseTap, prepareScratch, startSuite, titlePrefix, UPSTREAM_VERSION } from './upstream/harness.mjs';
import KNOWN_FAILURES from './upstream/known-failures.mjs';

const TARGET = process.env.UPSTREAM_TARGET ?? 'swingset-kernel-store';
/** How many tests swing-store 0.10.0's package ships. */
const SHIPPED_TESTS = 85;
/** The suite's AVA gives up when no test has finished for this long (swing-store's own is 2m). */
const INACTIVITY_TIMEOUT = '10m';
/** The run is hung when the child has printed nothing for this long. */
const SILENCE_LIMIT_MS = 20 * 60_000;

const knownFailures = TARGET === 'swing-store' ? [] : KNOWN_FAILURES;
const knownTitles = new Set(knownFailures.map(k => k.title));

let scratchDir;
let child;

test.before(async t => {
  const started = Date.now();
  const scratch = prepareScratch(TARGET, { timeout: INACTIVITY_TIMEOUT });
  scratchDir = scratch.dir;
  const stillTalking = () => t.timeout(SILENCE_LIMIT_MS, `the upstream suite printed nothing for ${SILENCE_LIMIT_MS / 60_000} minutes`);
  stillTalking();
  const suite = startSuite(scratch.dir, { onProgress: stillTalking });
  child = suite.child;
  const run = await suite.finished;
  const { results, plan } = parseTap(run.stdout);
  const prefixes = new Set(scratch.testFiles.map(titlePrefix));
  const isTest = r => prefixes.has(r.title.split(' › ')[0]) && r.title.includes(' › ');
  const tests = results.filter(isTest);
  const crashes = results.filter(r => !isTest(r));
  const passed = tests.filter(r => r.ok && !r.skip);
  const failing = tests.filter(r => !r.ok || r.skip);
  const unexpected = failing.filter(r => !knownTitles.has(r.title));
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(
    `swing-store ${UPSTREAM_VERSION}'s suite against ${TARGET}: ${tests.length} tests, ${passed.length} passed, ` +
      `${failing.length - unexpected.length} known-failing, ${unexpected.length} unexpected failures, ` +
      `${crashes.length} crashes (${seconds} s${run.signal ? `, ended by ${run.signal}` : ''})`,
  );
  t.context = { run, plan, tests, crashes, unexpected };
});

test.after.always(() => {
  if (child && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  if (scratchDir && !process.env.UPSTREAM_KEEP_SCRATCH) fs.rmSync(scratchDir, { recursive: true, force: true });
});

/** A failure's title and the start of AVA's report of it (the assertion, its values, where). */
const describe = r => {
  const lines = (r.detail ?? '').split('\n').filter(l => l.trim() && !/^name: AssertionError$/.test(l));
  return [r.title, ...lines.slice(0, 12).map(l => `    ${l.slice(0, 200)}`)].join('\n');
};

test('the upstream run reports every test file to the end, with no crash', t => {
  const { run, plan, tests, crashes } = t.context;
  t.is(run.signal, null, `the AVA child was killed by ${run.signal}\n${run.stderr}`);
  t.not(plan, undefined, `the TAP report has no closing plan\n${run.stdout.slice(-3000)}\n${run.stderr}`);
  t.deepEqual(crashes.map(describe), [], 'a test file crashed or failed to load');
  t.is(tests.length, plan, 'the TAP plan counts tests that have no result line');
});

test(`swing-store ${UPSTREAM_VERSION} ships ${SHIPPED_TESTS} tests and each reports once`, t => {
  const titles = t.context.tests.map(r => r.title);
  t.is(new Set(titles).size, titles.length, 'a test reported twice');
  t.is(titles.length, SHIPPED_TESTS);
});

test(`every upstream test passes against ${TARGET}, except the listed known failures`, t => {
  const { unexpected } = t.context;
  t.deepEqual(unexpected.map(describe), [], `${unexpected.length} tests fail that are not known failures`);
});

test('every listed known failure is an upstream test that still fails, with a reason', t => {
  const byTitle = new Map(t.context.tests.map(r => [r.title, r]));
  const problems = knownFailures.flatMap(({ title, reason }) => [
    ...(typeof reason === 'string' && reason.trim() ? [] : [`${title}: no reason given`]),
    ...(!byTitle.has(title) ? [`${title}: no such upstream test`] : []),
    ...(byTitle.get(title)?.ok ? [`${title}: passes now, so remove it from upstream/known-failures.mjs`] : []),
  ]);
  t.deepEqual(problems, []);
});
