'use strict';
// The native binding, or an error that says which platform lacks a binary and how to build one
// (napi-rs's own loader error talks about npm's optional-dependency bugs instead).

const loadNative = () => {
  try {
    return require('../index.js');
  } catch (cause) {
    const libc = process.platform === 'linux' ? (process.report?.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : '';
    const platform = `${process.platform}-${process.arch}${libc}`;
    const error = Error(
      `swingset-kernel-store could not load a native binary for ${platform} (prebuilt: linux-x64-gnu only). ` +
        'Build it from source with Rust (stable, 1.89 or newer) and Node.js 20 or newer: ' +
        'from a clone of the repository run `npm ci && npm run build`, then use that directory ' +
        '(or `npm pack` it) as the dependency.',
      { cause },
    );
    error.code = 'ERR_NO_NATIVE_BINARY';
    throw error;
  }
};

module.exports = loadNative();
