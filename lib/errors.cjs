'use strict';
// Coded errors for the JS layer's own checks, as the native binding codes its own: an `Error`
// (a `TypeError` for a wrong type) with a stable `code` and a message naming the argument.

const coded = (error, code) => {
  error.code = code;
  return error;
};

/** Throws an `Error` with `code` (none when swing-store's message has none to match on). */
const fail = (message, code) => {
  throw coded(Error(message), code);
};

/** Throws a `TypeError` with code `ERR_INVALID_ARG_TYPE`. */
const failType = message => {
  throw coded(TypeError(message), 'ERR_INVALID_ARG_TYPE');
};

/** Throws an `Error` with code `ERR_INVALID_ARG_VALUE`. */
const failValue = message => {
  throw coded(Error(message), 'ERR_INVALID_ARG_VALUE');
};

const isObject = value => value !== null && typeof value === 'object';

/**
 * What a wrong argument was, for a message: its type, and a short rendering of a primitive.
 * Never calls into the value (a hostile object's toString or getters could throw or lie).
 */
const describe = value => {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `the ${typeof value} ${String(value)}`;
  if (typeof value !== 'object') return typeof value;
  try {
    return Array.isArray(value) ? 'an array' : 'an object';
  } catch {
    // A revoked proxy refuses even Array.isArray.
    return 'an object';
  }
};

module.exports = { coded, fail, failType, failValue, isObject, describe };
