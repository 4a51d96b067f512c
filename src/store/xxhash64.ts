/**
 * XXH64 (seed 0 by default), the hash Thanos puts in `Chunk.hash` so queriers can drop chunks they
 * already received from another store. Written with 32-bit halves instead of BigInt because it
 * runs once per chunk on the Series hot path; only the result is a BigInt (the proto field type).
 */

// Primes as [hi, lo] 32-bit halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// Result registers of the 64-bit helpers (avoids allocating a pair per operation).
let rh = 0;
let rl = 0;

/** (ah:al) * (bh:bl) mod 2^64 → rh:rl. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  rl = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  rh = (carry + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 → rh:rl. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  rl = lo >>> 0;
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate left by r (0 < r < 64) → rh:rl. */
function rotl(h: number, l: number, r: number): void {
  if (r >= 32) {
    const t = h;
    h = l;
    l = t;
    r -= 32;
  }
  if (r === 0) {
    rh = h >>> 0;
    rl = l >>> 0;
    return;
  }
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

function le32(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** acc = rotl(acc + lane * P2, 31) * P1 → rh:rl. */
function round(acch: number, accl: number, laneh: number, lanel: number): void {
  mul(laneh, lanel, P2H, P2L);
  add(acch, accl, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

/** XXH64 of `data` with a 32-bit `seed` (Thanos always uses 0). */
export function xxhash64(data: Uint8Array, seed = 0): bigint {
  const len = data.length;
  let p = 0;
  let hh: number, hl: number;
  const sh = 0, sl = seed >>> 0;
  if (len >= 32) {
    add(sh, sl, P1H, P1L); add(rh, rl, P2H, P2L);
    let v1h = rh, v1l = rl;
    add(sh, sl, P2H, P2L);
    let v2h = rh, v2l = rl;
    let v3h = sh, v3l = sl;
    // seed - P1 = seed + (2^64 - P1)
    add(sh, sl, (~P1H) >>> 0, ((~P1L) >>> 0));
    add(rh, rl, 0, 1);
    let v4h = rh, v4l = rl;
    const limit = len - 32;
    while (p <= limit) {
      round(v1h, v1l, le32(data, p + 4), le32(data, p)); v1h = rh; v1l = rl;
      round(v2h, v2l, le32(data, p + 12), le32(data, p + 8)); v2h = rh; v2l = rl;
      round(v3h, v3l, le32(data, p + 20), le32(data, p + 16)); v3h = rh; v3l = rl;
      round(v4h, v4l, le32(data, p + 28), le32(data, p + 24)); v4h = rh; v4l = rl;
      p += 32;
    }
    rotl(v1h, v1l, 1); hh = rh; hl = rl;
    rotl(v2h, v2l, 7); add(hh, hl, rh, rl); hh = rh; hl = rl;
    rotl(v3h, v3l, 12); add(hh, hl, rh, rl); hh = rh; hl = rl;
    rotl(v4h, v4l, 18); add(hh, hl, rh, rl); hh = rh; hl = rl;
    for (const [vh, vl] of [[v1h, v1l], [v2h, v2l], [v3h, v3l], [v4h, v4l]] as const) {
      round(0, 0, vh, vl);
      hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
      mul(hh, hl, P1H, P1L); add(rh, rl, P4H, P4L); hh = rh; hl = rl;
    }
  } else {
    add(sh, sl, P5H, P5L); hh = rh; hl = rl;
  }
  add(hh, hl, Math.floor(len / 4294967296), len >>> 0); hh = rh; hl = rl;
  while (p + 8 <= len) {
    round(0, 0, le32(data, p + 4), le32(data, p));
    hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 27); mul(rh, rl, P1H, P1L); add(rh, rl, P4H, P4L); hh = rh; hl = rl;
    p += 8;
  }
  if (p + 4 <= len) {
    mul(0, le32(data, p), P1H, P1L);
    hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 23); mul(rh, rl, P2H, P2L); add(rh, rl, P3H, P3L); hh = rh; hl = rl;
    p += 4;
  }
  while (p < len) {
    mul(0, data[p]!, P5H, P5L);
    hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0;
    rotl(hh, hl, 11); mul(rh, rl, P1H, P1L); hh = rh; hl = rl;
    p++;
  }
  // Avalanche.
  hl = (hl ^ (hh >>> 1)) >>> 0; // h ^= h >> 33
  mul(hh, hl, P2H, P2L); hh = rh; hl = rl;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0; hh = (hh ^ (hh >>> 29)) >>> 0; // h ^= h >> 29
  mul(hh, hl, P3H, P3L); hh = rh; hl = rl;
  hl = (hl ^ hh) >>> 0; // h ^= h >> 32
  return (BigInt(hh) << 32n) | BigInt(hl);
}
