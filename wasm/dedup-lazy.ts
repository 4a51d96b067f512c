// Penalty deduplication of HA pairs straight from XOR chunks, decoding chunks only when the
// deduplication needs their samples.
//
// `penaltyPair` (dedup.ts) needs both replicas decoded, yet while the output follows one replica
// the other is only ever *seeked* (to lastT + 1 + penalty) and asked whether it still has samples.
// A replica's iterator position is always "the first sample >= the largest seek target so far"
// (timestamps strictly increase), so it can be kept as that target alone and resolved only when a
// sample is really needed: to compare timestamps when the followed replica reaches the other's
// target (a gap), to read values on a switch (counter adjustment), and to emit. Whether a replica
// still has a sample at or after a target follows from the chunks' (min, max) times, without
// decoding. Chunks of the replica the output does not follow are therefore mostly never decoded.
// The steps and float operations are those of penaltyPair, so the output is identical.
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

import { DEDUP_INITIAL_PENALTY } from "./dedup";
import { XOR_ERR_BOUNDS, XOR_ERR_OUTPUT, XOR_PADDING, xorDecodeOne, xorWriteError } from "./xor";

/** Bytes of state the lazy kernel needs (two replica cursors). */
export const LAZY_STATE_BYTES: u32 = 128;

// Cursor record (64 bytes per replica): first u32 @0, end u32 @4 (chunk index range), j i32 @8
// (chunk decoded into the scratch, -1 none), n i32 @12 (samples in the scratch), i i32 @16
// (position in the scratch), m i32 @20 (first chunk whose max time may reach the target),
// target f64 @24, adj f64 @32 (counter error adjustment), sT u32 @40, sV u32 @44 (scratch arrays).

let gInput: usize = 0;
let gInputLen: u32 = 0;
let gTable: usize = 0;
let gTimes: usize = 0;
let gWork: usize = 0;
let gWorkCap: u32 = 0;
let gScratchCap: u32 = 0;
let gMint: f64 = 0;
let gMaxt: f64 = 0;
let gErr: usize = 0;
// 0 = fine, -1 = corrupt chunk (error record written), -2 = chunk times do not match the data.
let gFail: i32 = 0;

// @ts-ignore: decorator
@inline function minTimeOf(c: i32): f64 {
  return load<f64>(gTimes + (<usize>c << 4));
}

// @ts-ignore: decorator
@inline function maxTimeOf(c: i32): f64 {
  return load<f64>(gTimes + (<usize>c << 4), 8);
}

// @ts-ignore: decorator
@inline function scratchT(r: usize, i: i32): f64 {
  return load<f64>(<usize>load<u32>(r, 40) + (<usize>i << 3));
}

function initCursor(r: usize, first: u32, count: u32, sT: usize, sV: usize): void {
  store<u32>(r, first);
  store<u32>(r, first + count, 4);
  store<i32>(r, -1, 8);
  store<i32>(r, 0, 12);
  store<i32>(r, 0, 16);
  store<i32>(r, <i32>first, 20);
  store<f64>(r, -Infinity, 24);
  store<f64>(r, 0, 32);
  store<u32>(r, <u32>sT, 40);
  store<u32>(r, <u32>sV, 44);
}

// Decodes chunk c into the cursor's scratch (filtered to [mint, maxt]) and checks it against its
// times. Returns false with gFail set on failure.
function openChunk(r: usize, c: i32): bool {
  const off = load<u32>(gTable + (<usize>c << 3));
  const len = load<u32>(gTable + (<usize>c << 3), 4);
  const rounded = (len + 15) & ~15;
  if (<u64>off + <u64>len > <u64>gInputLen || len > 0x0fffffff || <u64>rounded + XOR_PADDING > <u64>gWorkCap) {
    xorWriteError(gErr, <u32>c, XOR_ERR_BOUNDS);
    gFail = -1;
    return false;
  }
  if (len >= 2 && ((<u32>load<u8>(gInput + off) << 8) | <u32>load<u8>(gInput + off, 1)) > gScratchCap) {
    xorWriteError(gErr, <u32>c, XOR_ERR_OUTPUT);
    gFail = -1;
    return false;
  }
  const sT = <usize>load<u32>(r, 40);
  const k = xorDecodeOne(gInput, off, len, gWork, sT, <usize>load<u32>(r, 44), gMint, gMaxt);
  if (k < 0) {
    xorWriteError(gErr, <u32>c, 0);
    gFail = -1;
    return false;
  }
  if (k > 0) {
    if (load<f64>(sT) < minTimeOf(c) || load<f64>(sT + (<usize>(k - 1) << 3)) > maxTimeOf(c)) {
      gFail = -2;
      return false;
    }
    for (let x = 1; x < k; x++) {
      if (!(load<f64>(sT + (<usize>x << 3)) > load<f64>(sT + (<usize>(x - 1) << 3)))) {
        gFail = -2;
        return false;
      }
    }
  }
  store<i32>(r, c, 8);
  store<i32>(r, k, 12);
  store<i32>(r, 0, 16);
  return true;
}

// Moves the cursor to the first kept sample >= max(target, mint). 1: there is one, 0: none,
// -1: failure (gFail set).
function resolve(r: usize): i32 {
  const t = max(load<f64>(r, 24), gMint);
  const end = <i32>load<u32>(r, 4);
  let c = load<i32>(r, 8);
  if (c >= 0) {
    let i = load<i32>(r, 16);
    const n = load<i32>(r, 12);
    while (i < n && scratchT(r, i) < t) i++;
    store<i32>(r, i, 16);
    if (i < n) return 1;
    c++;
  } else {
    c = <i32>load<u32>(r);
  }
  // Chunks ending before t hold no sample >= t: skip them undecoded.
  while (c < end && maxTimeOf(c) < t) c++;
  while (c < end) {
    if (!openChunk(r, c)) return -1;
    const n = load<i32>(r, 12);
    let i = 0;
    while (i < n && scratchT(r, i) < t) i++;
    store<i32>(r, i, 16);
    if (i < n) return 1;
    // The chunk's last sample is >= t: it was only dropped if it lies after maxt, and so would
    // every later one. Otherwise the chunk's max time was wrong.
    if (maxTimeOf(c) > gMaxt) return 0;
    gFail = -2;
    return -1;
  }
  return 0;
}

// Whether the cursor has a kept sample >= max(target, mint), decoding only when the chunk times
// cannot tell (near maxt). 1 / 0 / -1 as resolve.
function exists(r: usize): i32 {
  const t = max(load<f64>(r, 24), gMint);
  const c = load<i32>(r, 8);
  if (c >= 0) {
    const i = load<i32>(r, 16);
    if (i < load<i32>(r, 12) && scratchT(r, i) >= t) return 1;
  }
  const end = <i32>load<u32>(r, 4);
  let m = load<i32>(r, 20);
  if (m < c) m = c;
  while (m < end && maxTimeOf(m) < t) m++;
  store<i32>(r, m, 20);
  if (m >= end) return 0;
  // The last sample of chunk m (at its max time) is >= t >= mint; kept when it is <= maxt.
  if (maxTimeOf(m) <= gMaxt) return 1;
  return resolve(r);
}

// Timestamp at the (resolved) cursor; NaN with gFail set when there is none.
function atT(r: usize): f64 {
  if (resolve(r) != 1) {
    if (gFail == 0) gFail = -2;
    return NaN;
  }
  return scratchT(r, load<i32>(r, 16));
}

// Value at the (resolved) cursor plus the counter adjustment, as dedup.ts' valueAt.
function valueAt(r: usize): f64 {
  if (resolve(r) != 1) {
    if (gFail == 0) gFail = -2;
    return NaN;
  }
  return load<f64>(<usize>load<u32>(r, 44) + (<usize>load<i32>(r, 16) << 3)) + load<f64>(r, 32);
}

// Raw value bits at the resolved cursor with the adjustment, as dedup.ts' bitsAt.
function bitsAt(r: usize): u64 {
  const bits = load<u64>(<usize>load<u32>(r, 44) + (<usize>load<i32>(r, 16) << 3));
  const adj = load<f64>(r, 32);
  return adj == 0 ? bits : reinterpret<u64>(reinterpret<f64>(bits) + adj);
}

// penaltyPair of dedup.ts over two lazy cursors; returns the samples written or -1.
function lazyPair(a: usize, b: usize, outT: usize, outV: usize, counter: bool): i32 {
  let aval = exists(a);
  let bval = exists(b);
  if (aval < 0 || bval < 0) return -1;
  let lastT: f64 = -Infinity;
  let penA: f64 = 0;
  let penB: f64 = 0;
  let useA = true;
  let lastIterA = true;
  let lastVal: f64 = 0; // value emitted last (valueAt of the emitting cursor)
  let n = 0;
  for (;;) {
    if (n > 0) {
      // Fast path, the common step: the output keeps following replica x (it emitted last, its
      // cursor sits on that sample) and x's next sample, in the same decoded chunk, comes before
      // the other replica's new seek target, so x wins without looking at the other's samples.
      // Same state changes as the generic step below; anything else leaves for the generic step.
      const x = lastIterA ? a : b;
      const y = lastIterA ? b : a;
      const yValid = (lastIterA ? bval : aval) != 0;
      const xT = <usize>load<u32>(x, 40);
      const xV = <usize>load<u32>(x, 44);
      const xn = load<i32>(x, 12);
      const adjX = load<f64>(x, 32);
      const yEnd = <i32>load<u32>(y, 4);
      let xi = load<i32>(x, 16);
      let penY = lastIterA ? penB : penA;
      let yTarget = load<f64>(y, 24);
      let ym = load<i32>(y, 20);
      let yExhausted = false;
      while (xi + 1 < xn) {
        const tNext = load<f64>(xT + (<usize>(xi + 1) << 3));
        let target = yTarget;
        if (yValid && !yExhausted) {
          target = max(yTarget, lastT + 1 + penY);
          const t = max(target, gMint);
          let m = ym;
          while (m < yEnd && maxTimeOf(m) < t) m++;
          if (m < yEnd && maxTimeOf(m) > gMaxt) break; // existence needs decoding
          if (tNext >= t && m < yEnd) break; // the other replica may win: compare in the generic step
          ym = m;
          yTarget = target;
          if (m >= yEnd) {
            yExhausted = true; // "other replica invalid" branch: its penalty stays
          } else {
            penY = 2 * (tNext - lastT);
          }
        }
        lastT = tNext;
        xi++;
        const o = <usize>n << 3;
        const raw = load<u64>(xV + (<usize>xi << 3));
        store<f64>(outT + o, tNext);
        store<u64>(outV + o, adjX == 0 ? raw : reinterpret<u64>(reinterpret<f64>(raw) + adjX));
        lastVal = reinterpret<f64>(raw) + adjX;
        n++;
      }
      store<i32>(x, xi, 16);
      store<f64>(x, max(load<f64>(x, 24), lastT), 24);
      store<f64>(y, yTarget, 24);
      store<i32>(y, ym, 20);
      if (lastIterA) {
        penA = 0;
        penB = penY;
        if (yExhausted) bval = 0;
      } else {
        penB = 0;
        penA = penY;
        if (yExhausted) aval = 0;
      }
    }
    const hadFloat = (useA ? aval : bval) != 0;
    // penaltyPair reads the value at the last-emitting cursor before seeking: the value emitted
    // last, or before the first step replica a's first sample.
    const prevVal: f64 = hadFloat ? (n == 0 ? valueAt(a) : lastVal) : 0;
    const prevUseA = useA;
    if (aval != 0) {
      store<f64>(a, max(load<f64>(a, 24), lastT + 1 + penA), 24);
      aval = exists(a);
    }
    if (bval != 0) {
      store<f64>(b, max(load<f64>(b, 24), lastT + 1 + penB), 24);
      bval = exists(b);
    }
    if (aval < 0 || bval < 0) return -1;
    if (aval == 0) {
      if (bval == 0) break;
      useA = false;
      lastT = atT(b);
      lastIterA = false;
      penB = 0;
    } else if (bval == 0) {
      useA = true;
      lastT = atT(a);
      lastIterA = true;
      penA = 0;
    } else {
      // ta <= tb, resolving the other cursor only when its target does not already decide it:
      // a cursor's sample is never before its target.
      const targetA = max(load<f64>(a, 24), gMint);
      const targetB = max(load<f64>(b, 24), gMint);
      let ta: f64;
      let tb: f64;
      if (targetA <= targetB) {
        ta = atT(a);
        if (ta < targetB) {
          useA = true;
          tb = Infinity; // not needed
        } else {
          tb = atT(b);
          useA = ta <= tb;
        }
      } else {
        tb = atT(b);
        if (tb < targetA) {
          useA = false;
          ta = Infinity; // not needed
        } else {
          ta = atT(a);
          useA = ta <= tb;
        }
      }
      if (useA) {
        penB = lastT != -Infinity ? 2 * (ta - lastT) : DEDUP_INITIAL_PENALTY;
        penA = 0;
        lastT = ta;
        lastIterA = true;
      } else {
        penA = lastT != -Infinity ? 2 * (tb - lastT) : DEDUP_INITIAL_PENALTY;
        penB = 0;
        lastT = tb;
        lastIterA = false;
      }
    }
    if (counter && useA != prevUseA && hadFloat) {
      if (aval != 0) {
        const v = valueAt(a);
        if (prevVal > v) store<f64>(a, load<f64>(a, 32) + (prevVal - v), 32);
      }
      if (bval != 0) {
        const v = valueAt(b);
        if (prevVal > v) store<f64>(b, load<f64>(b, 32) + (prevVal - v), 32);
      }
    }
    if (gFail != 0) return -1;
    const r = lastIterA ? a : b;
    if (resolve(r) != 1) {
      if (gFail == 0) gFail = -2;
      return -1;
    }
    const o = <usize>n << 3;
    const i = load<i32>(r, 16);
    store<f64>(outT + o, scratchT(r, i));
    store<u64>(outV + o, bitsAt(r));
    lastVal = load<f64>(<usize>load<u32>(r, 44) + (<usize>i << 3)) + load<f64>(r, 32);
    n++;
  }
  return n;
}

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
      gFail = -2;
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
  gInput = input;
  gInputLen = inputLen;
  gTable = table;
  gTimes = times;
  gWork = work;
  gWorkCap = workCap;
  gScratchCap = scratchCap;
  gMint = mint;
  gMaxt = maxt;
  gErr = err;
  gFail = 0;
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
