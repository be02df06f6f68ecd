'use strict';
// swing-store's `makeArchiveSnapshot` and `makeArchiveTranscript`: the callbacks a node gives
// its store (`archiveSnapshot` / `archiveTranscript`) to keep every heap snapshot and closed
// transcript span as `<dirPath>/<name>.gz`. A file appears under its final name only when
// complete: it is written under a temporary name in the same directory (made with the
// caller's `tmp`), flushed, then renamed, and the temporary file goes if anything fails.

const { Readable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { createGzip } = require('node:zlib');
const { failType, isObject } = require('./errors.cjs');
const harden = require('./harden.cjs');

const checkPowers = powers => {
  isObject(powers) || failType('powers must be an object { fs, path, tmp }');
  const { fs, path, tmp } = powers;
  isObject(fs) || failType('powers.fs must be the fs module');
  isObject(path) || failType('powers.path must be the path module');
  isObject(tmp) || failType('powers.tmp must be the tmp module');
  return powers;
};

/**
 * Writes `${name}.gz` in `dirPath` from the stream `write` fills, atomically: under a
 * temporary name first, renamed when finished, removed if anything fails.
 */
const writeArchive = async ({ fs, path, tmp }, dirPath, name, write) => {
  typeof name === 'string' || failType('archive name must be a string');
  const destPath = path.join(dirPath, `${name}.gz`);
  const { name: tmpName, fd, removeCallback } = tmp.fileSync({
    tmpdir: dirPath,
    prefix: name,
    postfix: '.gz.tmp',
    detachDescriptor: true,
  });
  try {
    await write(fs.createWriteStream('', { fd, flush: true }));
    fs.renameSync(tmpName, destPath);
  } finally {
    // A no-op once renamed: the temporary name no longer exists.
    removeCallback();
  }
};

/** `archiveSnapshot(name, gzData)`: the snapshot's gzip bytes, as stored, into `name.gz`. */
const makeArchiveSnapshot = (dirPath, powers) => {
  typeof dirPath === 'string' || failType('dirPath must be a string');
  const { fs } = checkPowers(powers);
  fs.mkdirSync(dirPath, { recursive: true });
  return harden((name, gzData) =>
    writeArchive(powers, dirPath, name, out => pipeline(Readable.from(gzData instanceof Uint8Array ? [gzData] : gzData), out)),
  );
};

/** `archiveTranscript(spanName, entries)`: a closed span's items, gzipped, into `spanName.gz`. */
const makeArchiveTranscript = (dirPath, powers) => {
  typeof dirPath === 'string' || failType('dirPath must be a string');
  const { fs } = checkPowers(powers);
  fs.mkdirSync(dirPath, { recursive: true });
  return harden((spanName, entries) =>
    writeArchive(powers, dirPath, spanName, out => pipeline(Readable.from(entries), createGzip(), out)),
  );
};

module.exports = { makeArchiveSnapshot, makeArchiveTranscript };
