// An export on disk as cosmic-swingset 0.42.0 lays one out (export-kernel-db.js writes
// `export-manifest.json`, `export-data.jsonl` with one `[key, value]` JSON row a line, and one
// file per artifact, named as the artifact), and the plain exporter objects a host builds over
// such a directory: the async one import-kernel-db.js builds (streams split into lines), and
// a sync one (arrays and a sync generator of chunks). No SES needed: the import children use it.
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import BufferLineTransform from '@agoric/internal/src/node/buffer-line-transform.js';

const MANIFEST = 'export-manifest.json';
const DATA_FILE = 'export-data.jsonl';
/** The chunk size a file exporter reads artifacts in (small, so artifacts span many chunks). */
const FILE_CHUNK = 64 * 1024;

/** Writes everything `exporter` yields into `dir` (which must not exist), then closes it. */
export const writeExportDir = async (exporter, dir, { blockHeight = 1, artifactMode } = {}) => {
  fs.mkdirSync(dir, { recursive: true });
  try {
    const rows = [];
    for await (const row of exporter.getExportData()) rows.push(`${JSON.stringify(row)}\n`);
    fs.writeFileSync(path.join(dir, DATA_FILE), rows.join(''));
    const artifacts = [];
    for await (const name of exporter.getArtifactNames()) {
      const chunks = [];
      for await (const chunk of exporter.getArtifact(name)) chunks.push(Buffer.from(chunk));
      fs.writeFileSync(path.join(dir, name), Buffer.concat(chunks));
      artifacts.push([name, name]);
    }
    const manifest = { blockHeight, ...(artifactMode && { artifactMode }), data: DATA_FILE, artifacts };
    fs.writeFileSync(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  } finally {
    await exporter.close();
  }
};

const readManifest = dir => JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8'));

/**
 * The exporter import-kernel-db.js builds over an export directory: async generators over
 * read streams, the export data split into lines by @agoric/internal's BufferLineTransform.
 * `onProgress(what)` is told of each data row, artifact name and artifact chunk before it is
 * handed over, and awaited.
 */
export const makeAsyncFileExporter = (dir, { onProgress = () => {} } = {}) => {
  const manifest = readManifest(dir);
  const artifacts = Object.fromEntries(manifest.artifacts);
  return {
    getHostKV: () => undefined,
    async *getExportData() {
      const lines = fs
        .createReadStream(path.join(dir, manifest.data))
        .pipe(new BufferLineTransform())
        .setEncoding('utf8')
        .pipe(
          new Transform({
            objectMode: true,
            transform(line, _encoding, callback) {
              try {
                callback(null, JSON.parse(line));
              } catch (error) {
                callback(error);
              }
            },
          }),
        );
      for await (const row of lines) {
        await onProgress(`data ${row[0].slice(0, 40)}`);
        yield row;
      }
    },
    async *getArtifactNames() {
      for (const name of Object.keys(artifacts)) {
        await onProgress(`name ${name.slice(0, 40)}`);
        yield name;
      }
    },
    async *getArtifact(name) {
      for await (const chunk of fs.createReadStream(path.join(dir, artifacts[name]), { highWaterMark: FILE_CHUNK })) {
        await onProgress(`chunk ${name.slice(0, 40)}`);
        yield chunk;
      }
    },
    close: async () => {},
  };
};

/** The same directory as a sync exporter: arrays, and a sync generator of file chunks. */
export const makeSyncFileExporter = dir => {
  const manifest = readManifest(dir);
  const artifacts = Object.fromEntries(manifest.artifacts);
  const data = fs
    .readFileSync(path.join(dir, manifest.data), 'utf8')
    .split('\n')
    .filter(line => line !== '')
    .map(line => JSON.parse(line));
  return {
    getHostKV: () => undefined,
    getExportData: () => data,
    getArtifactNames: () => Object.keys(artifacts),
    *getArtifact(name) {
      const fd = fs.openSync(path.join(dir, artifacts[name]), 'r');
      try {
        for (;;) {
          const chunk = Buffer.alloc(FILE_CHUNK);
          const length = fs.readSync(fd, chunk);
          if (length === 0) return;
          yield chunk.subarray(0, length);
        }
      } finally {
        fs.closeSync(fd);
      }
    },
    close: async () => {},
  };
};
