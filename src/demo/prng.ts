/**
 * A small deterministic PRNG (mulberry32) for generated data: the demo, benchmarks and tests use
 * it so runs are reproducible and HA replicas of the demo scrape identical values.
 */

/** Returns a generator of floats in [0, 1) determined by `seed`. */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
