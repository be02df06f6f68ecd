'use strict';
// Export-data rows out of a native ExportDataReader. Each page packs up to ROWS rows into one
// string and the UTF-16 ends of its keys and values (src/export_page.rs), one boundary
// crossing per page. The async iterator is written out rather than an async generator: the
// generator's promise bookkeeping for every row cost as much as reading the row.

/** Rows per native page. */
const ROWS = 4096;

/** A page's `[key, value]` rows. */
const unpack = ({ text, ends }) => {
  const rows = new Array(ends.length / 2);
  let start = 0;
  for (let i = 0; i < ends.length; i += 2) {
    const keyEnd = ends[i];
    const valueEnd = ends[i + 1];
    rows[i / 2] = [text.slice(start, keyEnd), text.slice(keyEnd, valueEnd)];
    start = valueEnd;
  }
  return rows;
};

/**
 * Every row of `reader`, as a (sync) generator: swing-store's `getExportRecords()`. Once
 * `isOpen()` is false the rows already read are dropped, so the next step asks the reader and
 * fails as it does.
 */
function* exportRows(reader, isOpen) {
  for (;;) {
    const rows = unpack(reader.nextPage(ROWS));
    if (rows.length === 0) return;
    for (const row of rows) {
      if (!isOpen()) break;
      yield row;
    }
  }
}

/**
 * Every row of the reader `openReader()` makes at the first step, as an async iterator that
 * behaves as swing-store's `getExportData()` generator does: a failure rejects that step and
 * ends the iteration, and `return()` (a `break` out of `for await`) ends it early, freeing
 * the reader's scan. Once `isOpen()` is false the rows already read are dropped, so the next
 * step asks the reader and fails as it does.
 */
const exportDataIterator = (openReader, isOpen) => {
  let reader;
  let rows = [];
  let next = 0;
  let finished = false;
  const finish = () => {
    finished = true;
    rows = [];
    next = 0;
    reader?.close();
  };
  return {
    next() {
      try {
        if (next === rows.length || !isOpen()) {
          if (finished) return Promise.resolve({ value: undefined, done: true });
          reader ??= openReader();
          rows = unpack(reader.nextPage(ROWS));
          next = 0;
          if (rows.length === 0) {
            finish();
            return Promise.resolve({ value: undefined, done: true });
          }
        }
        const value = rows[next];
        next += 1;
        return Promise.resolve({ value, done: false });
      } catch (error) {
        finish();
        return Promise.reject(error);
      }
    },
    return(value) {
      finish();
      return Promise.resolve({ value, done: true });
    },
    throw(error) {
      finish();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
};

module.exports = { exportRows, exportDataIterator };
