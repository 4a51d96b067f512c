// Shared state of the k-way dedup kernels (the penalty iterator tree in dedup-tree.ts and the
// chain merge in dedup-chain.ts): one 64-byte record per replica in the caller's scratch state,
// addressed through module globals set once per call by `setup`.
//
// Leaf (replica iterator) state at rec(i): idx i32 @0, end i32 @4, errAdjust f64 @8.
// Pair node state at rec(j), j = 1..k-1: aval u8 @16, bval u8 @17, useA u8 @18, lastIterA u8 @19,
// lastT f64 @24, penA f64 @32, penB f64 @40. Both live in the same 64-byte record per index.

/** Bytes of iterator state the kernels need per replica. */
export const DEDUP_STATE_BYTES: u32 = 64;

/** Sample timestamps (f64 ms) of every replica, back to back; set by `setup`. */
export let gT: usize = 0;
/** Sample values (f64 raw bits) of every replica, back to back; set by `setup`. */
export let gV: usize = 0;
/** Start of the per-replica state records; set by `setup`. */
export let gState: usize = 0;
/** Number of replicas of the current series; set by `setup`. */
export let gK: i32 = 0;
/** Whether the counter error adjustment is on; set by `setup`. */
export let gCounter: bool = false;

/** Address of the state record of replica (or pair) `i`. */
// @ts-ignore: decorator
@inline export function rec(i: i32): usize {
  return gState + (<usize>i << 6);
}

/**
 * Points the globals at one series' arrays and sets every leaf's cursor to one before its first
 * sample (idx = bounds[i] - 1, end = bounds[i + 1]) with no counter adjustment.
 */
export function setup(inT: usize, inV: usize, bounds: usize, k: i32, state: usize, counter: i32): void {
  gT = inT;
  gV = inV;
  gState = state;
  gK = k;
  gCounter = counter != 0;
  for (let i = 0; i < k; i++) {
    const r = rec(i);
    store<i32>(r, <i32>load<u32>(bounds + (<usize>i << 2)) - 1);
    store<i32>(r, <i32>load<u32>(bounds + (<usize>(i + 1) << 2)), 4);
    store<f64>(r, 0, 8);
  }
}
