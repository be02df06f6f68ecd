// A node child process the state-sync specs talk to line by line, watched for a hang by its
// silence only (never by how long it runs: a loaded machine is slow, not hung).
import { spawn } from 'node:child_process';
import readline from 'node:readline';

/** Silence this long means the child is hung; far beyond any slow run. */
const SILENCE_MS = 5 * 60_000;

/**
 * Runs `node script ...args`. `onLine(line, child)` hears each stdout line (and may write to
 * `child.stdin` or kill the child). Resolves when the child exits with `{ code, signal,
 * stderr }`; rejects if it is silent for SILENCE_MS (after killing it) or `onLine` throws.
 */
export const runWatched = (script, args, onLine = () => {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let silence;
    const fail = error => {
      clearTimeout(silence);
      child.kill('SIGKILL');
      reject(error);
    };
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => fail(Error(`${script} printed nothing for ${SILENCE_MS / 1000} s\n${stderr}`)), SILENCE_MS);
    };
    heard();
    child.stderr.setEncoding('utf8').on('data', data => {
      stderr += data;
      heard();
    });
    // A write racing the child's exit (after a kill) must not fail the run.
    child.stdin.on('error', () => {});
    readline.createInterface({ input: child.stdout }).on('line', async line => {
      heard();
      try {
        await onLine(line, child);
        heard();
      } catch (error) {
        fail(error);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(silence);
      resolve({ code, signal, stderr });
    });
  });
