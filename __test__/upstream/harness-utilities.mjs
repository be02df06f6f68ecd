// Test plumbing that swing-store's shipped tests import but that neither store provides: from
// its `src/`, `createSHA256` (hasher.js) and `buffer` (util.js), which are not part of its
// entry; and `arrayIsLike` from `@agoric/internal/tools/ava-assertions.js`, which
// @agoric/internal 0.4.0's npm package does not ship (stand-in-hooks.mjs serves it). None of it
// is store behaviour, so the harness serves its own in both target modes; hasher.test.js then
// checks this createSHA256 against the digests swing-store's own one gives.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

/** An incremental SHA-256 whose `add` chains, and which refuses any use after `finish`. */
export const createSHA256 = (initial = undefined) => {
  const hash = createHash('sha256');
  let finished = false;
  const assertOpen = () => {
    if (finished) throw Error('hash already finished');
  };
  const hasher = {
    add(more) {
      assertOpen();
      hash.update(more);
      return hasher;
    },
    finish() {
      assertOpen();
      finished = true;
      return hash.digest('hex');
    },
    sample: () => hash.copy().digest('hex'),
  };
  if (initial) hasher.add(initial);
  return hasher;
};

/** Every chunk of a (sync or async) iterable of bytes, as one Buffer. */
export const buffer = async chunks => {
  const parts = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
};

/** `t.like` on each element of `actual` against `expected`'s, and the same number of elements. */
export const arrayIsLike = (t, actual, expected, message) => {
  t.like(actual, expected, message);
  t.is(actual.length, expected.length, message);
};
