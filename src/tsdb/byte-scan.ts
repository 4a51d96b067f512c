/**
 * Helpers for scanning sorted string tables (symbols, postings offset table) without turning every
 * entry into a JS string: byte-wise comparison (Go's string order), UTF-8 validation with the same
 * rules as a fatal `TextDecoder`, and a reusable copy of the previous entry's bytes. A 1M-series
 * index has tens of thousands of such entries; decoding only the ones that are kept saves
 * megabytes of short-lived garbage per scan, which would otherwise grow V8's heap for good.
 */

/** Compares `a[aStart, aEnd)` with `b[bStart, bEnd)` byte-wise: negative, 0 or positive. */
export function compareByteRanges(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const an = aEnd - aStart;
  const bn = bEnd - bStart;
  const n = an < bn ? an : bn;
  for (let i = 0; i < n; i++) {
    const x = a[aStart + i]!;
    const y = b[bStart + i]!;
    if (x !== y) return x - y;
  }
  return an - bn;
}

/**
 * True when `b[start, end)` is well-formed UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF), i.e. exactly what `new TextDecoder("utf-8", { fatal: true })` accepts.
 */
export function isValidUtf8(b: Uint8Array, start: number, end: number): boolean {
  let p = start;
  while (p < end) {
    const c = b[p]!;
    if (c < 0x80) {
      p++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (p + n >= end) return false; // fewer than n continuation bytes left
    const c1 = b[p + 1]!;
    if (c1 < lo || c1 > hi) return false;
    for (let k = 2; k <= n; k++) {
      const ck = b[p + k]!;
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    p += n + 1;
  }
  return true;
}

/**
 * A growable copy of one entry's bytes (the previous symbol, the current label name), so the next
 * entry can be compared with it after the scan buffer has moved on.
 */
export class ByteScratch {
  bytes: Uint8Array;
  length = -1;

  constructor(capacity = 64) {
    this.bytes = new Uint8Array(capacity);
  }

  /** False until the first {@link set}. */
  get isSet(): boolean {
    return this.length >= 0;
  }

  /** Copies `b[start, end)` in. */
  set(b: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n > this.bytes.length) this.bytes = new Uint8Array(Math.max(n, this.bytes.length * 2));
    // A plain loop for short entries: `subarray` would allocate a view per call.
    if (n <= 128) for (let i = 0; i < n; i++) this.bytes[i] = b[start + i]!;
    else this.bytes.set(b.subarray(start, end), 0);
    this.length = n;
  }

  /** Compares the held bytes with `b[start, end)` (see {@link compareByteRanges}). */
  compare(b: Uint8Array, start: number, end: number): number {
    return compareByteRanges(this.bytes, 0, this.length, b, start, end);
  }

  /** True when the held bytes equal `b[start, end)`. */
  equals(b: Uint8Array, start: number, end: number): boolean {
    return this.length === end - start && compareByteRanges(this.bytes, 0, this.length, b, start, end) === 0;
  }

  /** The held bytes as a view (valid until the next {@link set}). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}
