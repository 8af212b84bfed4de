// Mulberry32: a small seeded generator for the Node tools' simulated players and networks, so a
// run is reproducible from its seeds (not for anything a participant or the server relies on).

/**
 * A generator of numbers in [0, 1) from a 32-bit `seed`.
 * @param {number} seed
 * @returns {() => number}
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
