// The seeded PRNG the differential specs draw their operation streams from.

/** mulberry32: a tiny deterministic PRNG returning floats in [0, 1). */
export const mulberry32 = seed => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
};
