'use strict';
// swing-store's `makeArchiveSnapshot` and `makeArchiveTranscript`: the callbacks a node gives
// its store (`archiveSnapshot` / `archiveTranscript`) to keep every heap snapshot and closed
// transcript span as `<dirPath>/<name>.gz`. A file appears under its final name only when
// complete: it is written under a temporary name in the same directory (made with the
// caller's `tmp`), flushed, then renamed, and the temporary file goes if anything fails.
//
// The data is what swing-store writes: an iterable or async iterable of chunks, each a
// Uint8Array (any ArrayBuffer view) or a string, or one such chunk on its own. Every chunk is
// checked before it reaches the file or the gzip stream: swing-store hands a bad chunk (a
// number, from iterating a bare Uint8Array, or an object) to a stream's write, which throws
// it as an uncaught exception; here the call is rejected with a coded error and no file is
// left behind.

const { pipeline } = require('node:stream/promises');
const { createGzip } = require('node:zlib');
const { describe, failType, failValue, isObject } = require('./errors.cjs');
const { isIterable } = require('./feed.cjs');
const harden = require('./harden.cjs');

/** What each power must be, and the methods of it that are called. */
const POWERS = [
  ['fs', 'the fs module', ['createWriteStream', 'mkdirSync', 'renameSync']],
  ['path', 'the path module', ['join']],
  ['tmp', 'the tmp module', ['fileSync']],
];

/** `{ fs, path, tmp }`, each read once and checked for the methods the writer calls. */
const checkPowers = powers => {
  isObject(powers) || failType(`powers must be an object { fs, path, tmp }, not ${describe(powers)}`);
  const checked = {};
  for (const [name, what, methods] of POWERS) {
    const power = powers[name];
    isObject(power) || failType(`powers.${name} must be ${what}, not ${describe(power)}`);
    for (const method of methods) {
      typeof power[method] === 'function' || failType(`powers.${name} must be ${what}: its ${method} is ${describe(power[method])}`);
    }
    checked[name] = power;
  }
  return checked;
};

const makeWriter = (dirPath, powers) => {
  typeof dirPath === 'string' || failType(`dirPath must be a string, not ${describe(dirPath)}`);
  const checked = checkPowers(powers);
  checked.fs.mkdirSync(dirPath, { recursive: true });
  return checked;
};

/**
 * An archive's name becomes a file name in the archive directory, and the prefix of its
 * temporary file, which tmp refuses when it holds "..".
 */
const checkName = (name, what) => {
  typeof name === 'string' || failType(`${what} must be a string, not ${describe(name)}`);
  (name !== '' && !name.includes('/') && !name.includes('..') && !name.includes('\0')) ||
    failValue(`${what} must be a file name (not empty, and without "/", ".." or NUL), not ${describe(name)}`);
};

const isChunk = value => typeof value === 'string' || ArrayBuffer.isView(value);

/** `data` as an iterable of chunks; it is not iterated yet. */
const chunksOf = (data, what) => {
  if (isChunk(data)) return [data];
  isIterable(data) ||
    failType(`${what} must be an iterable or async iterable of Uint8Array (or string) chunks, not ${describe(data)}`);
  return data;
};

/** Every chunk of `chunks` as a Buffer, failing at the first that is no chunk. */
async function* checkedChunks(chunks, what) {
  let index = 0;
  for await (const chunk of chunks) {
    if (typeof chunk === 'string') yield Buffer.from(chunk);
    else if (ArrayBuffer.isView(chunk)) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else failType(`${what} must yield Uint8Array (or string) chunks, but its chunk ${index} is ${describe(chunk)}`);
    index += 1;
  }
}

/** The temporary file tmp made, checked: a stand-in for tmp could hand back anything. */
const makeTemporary = (tmp, dirPath, name) => {
  const made = tmp.fileSync({ tmpdir: dirPath, prefix: name, postfix: '.gz.tmp', detachDescriptor: true });
  (isObject(made) && typeof made.name === 'string' && Number.isInteger(made.fd) && typeof made.removeCallback === 'function') ||
    failType(`powers.tmp must be the tmp module: its fileSync returned ${describe(made)}, not { name, fd, removeCallback }`);
  return made;
};

/**
 * Writes `${name}.gz` in `dirPath` from `data`'s chunks (gzipped on the way when `gzip`),
 * atomically: under a temporary name first, renamed when finished, removed if anything fails.
 */
const writeArchive = async ({ fs, path, tmp }, dirPath, [name, data], [nameWhat, dataWhat], gzip) => {
  checkName(name, nameWhat);
  const chunks = chunksOf(data, dataWhat);
  const destPath = path.join(dirPath, `${name}.gz`);
  const { name: tmpName, fd, removeCallback } = makeTemporary(tmp, dirPath, name);
  try {
    const out = fs.createWriteStream('', { fd, flush: true });
    const source = checkedChunks(chunks, dataWhat);
    await (gzip ? pipeline(source, createGzip(), out) : pipeline(source, out));
    fs.renameSync(tmpName, destPath);
  } finally {
    // A no-op once renamed: the temporary name no longer exists.
    removeCallback();
  }
};

/** `archiveSnapshot(name, gzData)`: the snapshot's gzip bytes, as stored, into `name.gz`. */
const makeArchiveSnapshot = (dirPath, powers) => {
  const checked = makeWriter(dirPath, powers);
  return harden(async (name, gzData) => writeArchive(checked, dirPath, [name, gzData], ['archiveSnapshot: name', 'archiveSnapshot: gzData'], false));
};

/** `archiveTranscript(spanName, entries)`: a closed span's items, gzipped, into `spanName.gz`. */
const makeArchiveTranscript = (dirPath, powers) => {
  const checked = makeWriter(dirPath, powers);
  return harden(async (spanName, entries) =>
    writeArchive(checked, dirPath, [spanName, entries], ['archiveTranscript: spanName', 'archiveTranscript: entries'], true),
  );
};

module.exports = { makeArchiveSnapshot, makeArchiveTranscript };
