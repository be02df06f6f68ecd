'use strict';
// `internal.db` and `debug.getDatabase()`: where swing-store hands tools its better-sqlite3
// handle, this store hands them a read-only look-alike over its own connection. Tools count
// rows and read tables with it (`prepare(sql).get/all/iterate`, `pluck`, `raw`, `pragma`)
// without a second SQLite library opening the file in this process, which would break the
// store's file locks (docs/foreign-sqlite.md). Statements that could write are refused: the
// store writes through its own calls, inside its own transaction.

const { coded, describe, failType, isObject } = require('./errors.cjs');
const harden = require('./harden.cjs');

const refuse = what => {
  throw coded(
    Error(`internal.db is read-only: ${what} is not available (the store writes through its own calls, in its own transaction)`),
    'ERR_READONLY_QUERY',
  );
};

/**
 * After the store closes, as better-sqlite3 after `db.close()`: its message, and its class (a
 * TypeError), with this package's code for a closed store.
 */
const checkOpen = store => {
  if (store.closed) throw coded(TypeError('The database connection is not open'), 'ERR_CLOSED');
};

/** better-sqlite3's binding of `stmt.get(...args)`: one array, one object of names, or values. */
const paramsOf = args => {
  if (args.length === 1 && args[0] !== null && typeof args[0] === 'object' && !(args[0] instanceof Uint8Array)) {
    return args[0];
  }
  return args;
};

/** A prepared statement, read-only: it runs when read, on the store's connection. */
const makeStatement = (store, source) => {
  let plucked = false;
  let raw = false;
  const shape = ({ columns, rows }) =>
    rows.map(row => {
      if (plucked) return row[0];
      if (raw) return row;
      return Object.fromEntries(columns.map((name, i) => [name, row[i]]));
    });
  const query = params => {
    checkOpen(store);
    return store.query(source, params);
  };
  const run = args => shape(query(paramsOf(args)));
  const statement = {
    source,
    reader: true,
    readonly: true,
    get: (...args) => run(args)[0],
    all: (...args) => run(args),
    iterate: (...args) => run(args)[Symbol.iterator](),
    pluck(toggle = true) {
      plucked = !!toggle;
      if (plucked) raw = false;
      return statement;
    },
    raw(toggle = true) {
      raw = !!toggle;
      if (raw) plucked = false;
      return statement;
    },
    columns: () => query([]).columns.map(name => ({ name })),
    run: () => refuse('Statement.run()'),
  };
  return statement;
};

/** The read-only handle for `store` (a native KernelStore). */
const makeDatabase = store =>
  harden({
    get name() {
      return store.closed ? ':memory:' : store.dbPath ?? ':memory:';
    },
    get open() {
      return !store.closed;
    },
    get memory() {
      return store.closed || store.dbPath === null;
    },
    readonly: true,
    prepare: source => {
      typeof source === 'string' || failType(`internal.db.prepare(source): source must be a string (an SQL statement), not ${describe(source)}`);
      checkOpen(store);
      return makeStatement(store, source);
    },
    // Its arguments as better-sqlite3 takes them: null or undefined options are the defaults.
    pragma: (source, options) => {
      const opts = options ?? {};
      typeof source === 'string' || failType(`internal.db.pragma(source, options): source must be a string (a pragma), not ${describe(source)}`);
      isObject(opts) || failType(`internal.db.pragma(source, options): options must be an object ({ simple }), not ${describe(options)}`);
      const simple = 'simple' in opts ? opts.simple : false;
      typeof simple === 'boolean' || failType(`internal.db.pragma(source, options): options.simple must be a boolean, not ${describe(simple)}`);
      checkOpen(store);
      const { columns, rows } = store.query(`PRAGMA ${source}`, []);
      if (simple) return rows[0]?.[0];
      return rows.map(row => Object.fromEntries(columns.map((name, i) => [name, row[i]])));
    },
    exec: () => refuse('exec()'),
    transaction: () => refuse('transaction()'),
    // The store owns the connection; a tool "closing" its view must not close the store.
    close: () => undefined,
    toString: () => `[internal.db of ${store.closed ? 'a closed store' : store.dbPath ?? ':memory:'}]`,
    [Symbol.for('swingset-kernel-store.KernelStore')]: store,
  });

/** The native store behind a handle `makeDatabase` made, or `undefined` for anything else. */
const storeOf = db => (db && typeof db === 'object' ? db[Symbol.for('swingset-kernel-store.KernelStore')] : undefined);

module.exports = { makeDatabase, storeOf };
