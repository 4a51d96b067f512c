// Penalty deduplication of HA pairs straight from XOR chunks, decoding chunks only when the
// deduplication needs their samples.
//
// `penaltyPair` (dedup-pair.ts) needs both replicas decoded, yet while the output follows one
// replica the other is only ever *seeked* (to lastT + 1 + penalty) and asked whether it still has
// samples.
// A replica's iterator position is always "the first sample >= the largest seek target so far"
// (timestamps strictly increase), so it can be kept as that target alone and resolved only when a
// sample is really needed: to compare timestamps when the followed replica reaches the other's
// target (a gap), to read values on a switch (counter adjustment), and to emit. Whether a replica
// still has a sample at or after a target follows from the chunks' (min, max) times, without
// decoding (dedup-lazy-cursor.ts). Chunks of the replica the output does not follow are therefore
// mostly never decoded. The steps and float operations are those of penaltyPair (dedup-lazy-pair.ts),
// so the output is identical.
//
// Chunk times come from the StoreAPI (AggrChunk min/max time = the chunk's first and last sample).
// Every chunk that is decoded is checked against them (and for strictly increasing timestamps);
// on a mismatch the kernel returns -2 and the caller takes the decode-everything path instead.
//
// Layout (prepared by JS in the scratch arena):
// - input: all chunk bytes (plus XOR_PADDING spare bytes); table: per chunk u32 offset, u32 length;
//   times: per chunk f64 min time, f64 max time;
// - groups: per output series u32 firstA, countA, firstB, countB (chunk index ranges of its two
//   replica runs; countB = 0 for a single replica, both 0 for none);
// - scratch: 4 arrays of `scratchCap` f64 (decoded samples of each replica's open chunk);
// - state: LAZY_STATE_BYTES; outT/outV: room for every announced sample; outCounts: u32 per group.

import { gFail, gMaxt, gMint, initCursor, lazyBegin, lazyFail, maxTimeOf, minTimeOf, openChunk } from "./dedup-lazy-cursor";
import { lazyPair } from "./dedup-lazy-pair";

/** Bytes of state the lazy kernel needs (two replica cursors). */
export const LAZY_STATE_BYTES: u32 = 128;

// A single replica: every kept sample of every chunk, in order (chunks must not overlap).
function single(a: usize, outT: usize, outV: usize): i32 {
  const end = <i32>load<u32>(a, 4);
  let n = 0;
  let last: f64 = -Infinity;
  for (let c = <i32>load<u32>(a); c < end; c++) {
    // Chunks wholly outside [mint, maxt] would decode to nothing: skip them by their times.
    if (maxTimeOf(c) < gMint || minTimeOf(c) > gMaxt) continue;
    if (!openChunk(a, c)) return -1;
    const k = load<i32>(a, 12);
    if (k == 0) continue;
    const sT = <usize>load<u32>(a, 40);
    if (!(load<f64>(sT) > last)) {
      lazyFail(-2);
      return -1;
    }
    last = load<f64>(sT + (<usize>(k - 1) << 3));
    memory.copy(outT + (<usize>n << 3), sT, <usize>k << 3);
    memory.copy(outV + (<usize>n << 3), <usize>load<u32>(a, 44), <usize>k << 3);
    n += k;
  }
  return n;
}

/**
 * Decodes and penalty-deduplicates many series with at most two replica runs each (see the file
 * comment for the layout). `counter` != 0 enables the counter error adjustment. Returns the total
 * number of output samples; -1 after writing `err` (code, chunk index, byte offset, sample) for a
 * corrupt chunk; -2 when chunk times disagree with the data (use the decode-everything path).
 */
export function dedupLazyPairs(
  input: usize, inputLen: u32, table: usize, times: usize, groups: usize, nGroups: i32,
  work: usize, workCap: u32, scratch: usize, scratchCap: u32, state: usize,
  outT: usize, outV: usize, outCounts: usize, mint: f64, maxt: f64, counter: i32, err: usize,
): i32 {
  lazyBegin(input, inputLen, table, times, work, workCap, scratchCap, mint, maxt, err);
  const a = state;
  const b = state + 64;
  const cap = <usize>scratchCap << 3;
  let total: u32 = 0;
  for (let g = 0; g < nGroups; g++) {
    const rec = groups + (<usize>g << 4);
    const countA = load<u32>(rec, 4);
    const countB = load<u32>(rec, 12);
    initCursor(a, load<u32>(rec), countA, scratch, scratch + cap);
    initCursor(b, load<u32>(rec, 8), countB, scratch + 2 * cap, scratch + 3 * cap);
    const oT = outT + (<usize>total << 3);
    const oV = outV + (<usize>total << 3);
    let n: i32 = 0;
    if (countA > 0 && countB > 0) n = lazyPair(a, b, oT, oV, counter != 0);
    else if (countA > 0) n = single(a, oT, oV);
    if (n < 0 || gFail != 0) return gFail == -1 ? -1 : -2;
    store<u32>(outCounts + (<usize>g << 2), <u32>n);
    total += <u32>n;
  }
  return <i32>total;
}
