// Lazy replica cursors of the chunk-level dedup kernel (dedup-lazy.ts): a replica's position is
// kept as its largest seek target and resolved to a sample only when one is really needed,
// decoding (and checking) one XOR chunk at a time into the cursor's scratch arrays.
//
// Cursor record (64 bytes per replica): first u32 @0, end u32 @4 (chunk index range), j i32 @8
// (chunk decoded into the scratch, -1 none), n i32 @12 (samples in the scratch), i i32 @16
// (position in the scratch), m i32 @20 (first chunk whose max time may reach the target),
// target f64 @24, adj f64 @32 (counter error adjustment), sT u32 @40, sV u32 @44 (scratch arrays).

import { adjustBits } from "./dedup-penalty-rules";
import { XOR_ERR_BOUNDS, XOR_ERR_OUTPUT, XOR_PADDING, xorDecodeOne, xorWriteError } from "./xor";

let gInput: usize = 0;
let gInputLen: u32 = 0;
let gTable: usize = 0;
let gTimes: usize = 0;
let gWork: usize = 0;
let gWorkCap: u32 = 0;
let gScratchCap: u32 = 0;
/** Start of the query's time range (ms): samples before it are dropped; set by `lazyBegin`. */
export let gMint: f64 = 0;
/** End of the query's time range (ms): samples after it are dropped; set by `lazyBegin`. */
export let gMaxt: f64 = 0;
let gErr: usize = 0;
/**
 * Outcome of the current call: 0 = fine, -1 = corrupt chunk (error record written), -2 = chunk
 * times do not match the data. Written through `lazyFail`.
 */
export let gFail: i32 = 0;

/**
 * Points the cursors at one batch (see dedup-lazy.ts for the layout) and clears the failure.
 */
// @ts-ignore: decorator
@inline export function lazyBegin(
  input: usize, inputLen: u32, table: usize, times: usize, work: usize, workCap: u32, scratchCap: u32,
  mint: f64, maxt: f64, err: usize,
): void {
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
}

/** Records the call's failure (-1 corrupt chunk, -2 chunk times disagree with the data). */
// @ts-ignore: decorator
@inline export function lazyFail(code: i32): void {
  gFail = code;
}

/** Min time (first sample, ms) the StoreAPI announced for chunk c. */
// @ts-ignore: decorator
@inline export function minTimeOf(c: i32): f64 {
  return load<f64>(gTimes + (<usize>c << 4));
}

/** Max time (last sample, ms) the StoreAPI announced for chunk c. */
// @ts-ignore: decorator
@inline export function maxTimeOf(c: i32): f64 {
  return load<f64>(gTimes + (<usize>c << 4), 8);
}

/** Timestamp of sample i in cursor r's scratch. */
// @ts-ignore: decorator
@inline export function scratchT(r: usize, i: i32): f64 {
  return load<f64>(<usize>load<u32>(r, 40) + (<usize>i << 3));
}

/** Sets cursor r to chunks [first, first + count) with scratch arrays sT/sV, before any target. */
export function initCursor(r: usize, first: u32, count: u32, sT: usize, sV: usize): void {
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

/**
 * Decodes chunk c into the cursor's scratch (filtered to [mint, maxt]) and checks it against its
 * times. Returns false with gFail set on failure.
 */
export function openChunk(r: usize, c: i32): bool {
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

/**
 * Moves the cursor to the first kept sample >= max(target, mint). 1: there is one, 0: none,
 * -1: failure (gFail set).
 */
export function resolve(r: usize): i32 {
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

/**
 * Whether the cursor has a kept sample >= max(target, mint), decoding only when the chunk times
 * cannot tell (near maxt). 1 / 0 / -1 as resolve.
 */
export function exists(r: usize): i32 {
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

/**
 * Timestamp at the (resolved) cursor; NaN with gFail set when there is none.
 */
export function atT(r: usize): f64 {
  if (resolve(r) != 1) {
    if (gFail == 0) gFail = -2;
    return NaN;
  }
  return scratchT(r, load<i32>(r, 16));
}

/**
 * Value at the (resolved) cursor plus the counter adjustment, as dedup-pair.ts' valueAt.
 */
export function valueAt(r: usize): f64 {
  if (resolve(r) != 1) {
    if (gFail == 0) gFail = -2;
    return NaN;
  }
  return load<f64>(<usize>load<u32>(r, 44) + (<usize>load<i32>(r, 16) << 3)) + load<f64>(r, 32);
}

/**
 * Raw value bits at the resolved cursor with the adjustment, as dedup-pair.ts' bitsAt.
 */
export function bitsAt(r: usize): u64 {
  const bits = load<u64>(<usize>load<u32>(r, 44) + (<usize>load<i32>(r, 16) << 3));
  return adjustBits(bits, load<f64>(r, 32));
}
