'use strict';
// What callers get from swing-store: frozen deeply when SES is there, else frozen.

module.exports = value => (typeof globalThis.harden === 'function' ? globalThis.harden(value) : Object.freeze(value));
