'use strict';
// What an import or repair takes from an exporter: any exporter (ours, swing-store's, or a
// host's plain object reading files; its iterables sync or async) is checked before use, and
// whatever it throws reaches the caller coded. Export data goes to the native consumer in
// pages: one boundary crossing per page rather than per row.

const { coded, failType } = require('./errors.cjs');

/** Rows per native call. */
const ROWS_PER_PAGE = 4096;

/** Whether `value` can be walked by `for await`. */
const isIterable = value =>
  value !== null &&
  (typeof value === 'object' || typeof value === 'function') &&
  (typeof value[Symbol.asyncIterator] === 'function' || typeof value[Symbol.iterator] === 'function');

/**
 * An exporter's own failure: passed on as it is when it already carries a code, else as
 * `ERR_EXPORTER_FAILED` with the exporter's error as its cause.
 */
const exporterFailure = (what, cause) => {
  if (cause !== null && typeof cause === 'object' && typeof cause.code === 'string') return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return coded(Error(`the exporter's ${what} failed: ${message}`, { cause }), 'ERR_EXPORTER_FAILED');
};

/** Checks that `exporter` has the methods `names`, before anything is imported. */
const checkExporter = (exporter, names) => {
  (exporter !== null && typeof exporter === 'object') || failType('exporter must be an object');
  for (const name of names) {
    typeof exporter[name] === 'function' || failType(`exporter.${name} must be a function`);
  }
};

/** `exporter[method](...args)`, its throw coded. */
const callExporter = (exporter, method, ...args) => {
  try {
    return exporter[method](...args);
  } catch (error) {
    throw exporterFailure(`${method}()`, error);
  }
};

/** `await exporter.close()`, its failure coded. */
const closeExporter = async exporter => {
  try {
    await exporter.close();
  } catch (error) {
    throw exporterFailure('close()', error);
  }
};

/** The iterator of what an exporter returned; a non-iterable is refused. */
const iteratorOf = (iterable, what) => {
  isIterable(iterable) || failType(`${what} must return an iterable`);
  return typeof iterable[Symbol.asyncIterator] === 'function' ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]();
};

/** The next step of an exporter's iterator, its throw (or rejection) coded. */
const stepOf = async (iterator, what) => {
  try {
    return await iterator.next();
  } catch (error) {
    throw exporterFailure(what, error);
  }
};

/** The items of what an exporter returned, its throws coded; a non-iterable is refused. */
async function* exporterItems(iterable, what) {
  const iterator = iteratorOf(iterable, what);
  for (let step = await stepOf(iterator, what); !step.done; step = await stepOf(iterator, what)) {
    yield step.value;
  }
}

/**
 * Calls `take(rows)` with successive pages of `exporter.getExportData()`. Its iterator is
 * stepped here rather than through `exporterItems`: a million rows through a second async
 * generator cost a tenth of the import.
 */
const feedExportData = async (exporter, take) => {
  const what = 'getExportData()';
  const iterator = iteratorOf(callExporter(exporter, 'getExportData'), what);
  let page = [];
  for (let step = await stepOf(iterator, what); !step.done; step = await stepOf(iterator, what)) {
    page.push(step.value);
    if (page.length === ROWS_PER_PAGE) {
      take(page);
      page = [];
    }
  }
  if (page.length > 0) take(page);
};

module.exports = { isIterable, checkExporter, callExporter, closeExporter, exporterItems, feedExportData };
