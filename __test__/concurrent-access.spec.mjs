// Several processes on one on-disk store: one writer at a time, read-only openers alongside.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KernelStore } from '../lib/index.mjs';
import { tmpDir } from './support/files.mjs';

const fixture = name => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const cli = fileURLToPath(new URL('../bin/kernel-store.mjs', import.meta.url));
const BUSY_TIMEOUT_MS = 5000;

/** Starts the busy writer and follows the block numbers it reports committed. */
const startWriter = (t, dir) => {
  const child = spawn(process.execPath, [fixture('busy-writer.cjs'), dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let committed = -1;
  let stderr = '';
  const waiters = [];
  let buffered = '';
  child.stdout.on('data', chunk => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      const [word, n] = line.split(' ');
      if (word === 'block') committed = Number(n);
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', chunk => {
    stderr += chunk;
  });
  const exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitForBlock = async n => {
    while (committed < n) {
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve, reject) => {
        waiters.push(resolve);
        exited.then(({ code }) => reject(Error(`writer exited (${code}) before block ${n}: ${stderr}`)));
      });
    }
    return committed;
  };
  const stop = async () => {
    child.stdin.end('stop\n');
    const status = await exited;
    return { ...status, committed, stderr };
  };
  return { child, exited, waitForBlock, committed: () => committed, stop };
};

/** What try-open-writer.cjs reports on its one stdout line; a child that failed to report rejects. */
const tryOpenWriter = dir =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture('try-open-writer.cjs'), dir]);
    let out = '';
    let err = '';
    child.stdout.on('data', chunk => {
      out += chunk;
    });
    child.stderr.on('data', chunk => {
      err += chunk;
    });
    // 'close', not 'exit': the child's output is only all here once its pipes have closed.
    child.on('close', (code, signal) => {
      if (code === 0) resolve(JSON.parse(out));
      else reject(Error(`try-open-writer exited (${code ?? signal}) without its report: ${err}`));
    });
  });

const readCommittedBlock = dir => {
  const reader = KernelStore.open(dir, { readonly: true });
  try {
    return Number(reader.kvStore.get('kernel.block'));
  } finally {
    reader.close();
  }
};

test('a second process opening the store for writing gets ERR_STORE_BUSY after the busy timeout', async t => {
  const dir = tmpDir(t, 'concurrent');
  const writer = startWriter(t, dir);
  await writer.waitForBlock(1);
  const attempt = await tryOpenWriter(dir);
  t.false(attempt.opened);
  t.is(attempt.code, 'ERR_STORE_BUSY', attempt.message);
  t.true(attempt.message.includes(dir), attempt.message);
  // The opener waits out the busy timeout for a writer that may be shutting down. That it then
  // gives up, rather than waiting for the lock, is the refusal itself: this writer never lets go
  // until it is stopped below. (How much longer than the timeout it took depends on the machine.)
  t.true(attempt.ms >= BUSY_TIMEOUT_MS - 100, `${attempt.ms} ms`);
  await writer.stop();
});

test('the writer keeps committing, unaffected, while a second writer is refused', async t => {
  const dir = tmpDir(t, 'concurrent');
  const writer = startWriter(t, dir);
  await writer.waitForBlock(1);
  const attempt = tryOpenWriter(dir);
  const before = writer.committed();
  t.false((await attempt).opened);
  const after = await writer.waitForBlock(writer.committed() + 5);
  t.true(after > before + 5, `committed ${before} → ${after} during and after the refused open`);
  const stopped = await writer.stop();
  t.is(stopped.code, 0, stopped.stderr);
  t.is(readCommittedBlock(dir), stopped.committed, 'every reported block is on disk');
});

test('read-only openers read committed, refcount-consistent states while the writer runs', async t => {
  const dir = tmpDir(t, 'concurrent');
  const writer = startWriter(t, dir);
  await writer.waitForBlock(1);
  const seen = [];
  for (let i = 0; i < 6; i += 1) {
    const reportedBefore = writer.committed();
    const block = readCommittedBlock(dir);
    t.true(block >= reportedBefore, `reader saw block ${block}, writer had reported ${reportedBefore}`);
    seen.push(block);
    // The audit is a separate read-only process; a half-written block would show as a mismatch.
    const audit = spawnSync(process.execPath, [cli, 'audit', dir, '--json'], { encoding: 'utf8' });
    t.is(audit.status, 0, audit.stdout + audit.stderr);
    t.true(JSON.parse(audit.stdout).clean);
    // eslint-disable-next-line no-await-in-loop
    await writer.waitForBlock(writer.committed() + 3);
  }
  t.deepEqual([...seen].sort((a, b) => a - b), seen, 'committed blocks never go backwards');
  t.true(seen.at(-1) > seen[0]);
  const stopped = await writer.stop();
  t.is(stopped.code, 0, stopped.stderr);
});

test('a writer killed by SIGKILL leaves no lock behind: the next writer opens', async t => {
  const dir = tmpDir(t, 'concurrent');
  const writer = startWriter(t, dir);
  await writer.waitForBlock(3);
  writer.child.kill('SIGKILL');
  await writer.exited;
  // A lock left behind is never released: the opener would get ERR_STORE_BUSY, however long it took.
  const attempt = await tryOpenWriter(dir);
  t.true(attempt.opened, attempt.message);
});
