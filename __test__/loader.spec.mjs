// Where the package has no binary for the platform, loading it says so and how to build one.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpDir } from './support/files.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

test('a copy of the package without its binary fails with ERR_NO_NATIVE_BINARY naming the platform and the build', t => {
  const dir = tmpDir(t, 'nobinary');
  for (const entry of ['lib', 'index.js', 'package.json']) {
    fs.cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  }
  const probe = `try { require(${JSON.stringify(path.join(dir, 'lib/index.cjs'))}); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const { code, message } = JSON.parse(r.stdout);
  t.is(code, 'ERR_NO_NATIVE_BINARY');
  t.regex(message, new RegExp(`for ${process.platform}-${process.arch}`));
  t.regex(message, /Rust \(stable, 1\.89 or newer\) and Node\.js 20 or newer/);
  t.regex(message, /npm ci && npm run build/);
});
