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

const isObject = value => value !== null && typeof value === 'object';

module.exports = { coded, fail, failType, isObject };
