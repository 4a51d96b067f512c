/**
 * Decoding of label strings from protobuf bytes with interning: short ASCII strings that repeat
 * come back as the same string instance, without allocating.
 */

const utf8 = new TextDecoder("utf-8", { fatal: true });

// Label names and values are nearly always short ASCII and repeat from series to series (names,
// metric names, job, ...). A direct-mapped cache keyed by an FNV-1a hash of the bytes returns the
// same string instance for repeats: no allocation, less garbage, and faster comparisons later.
const INTERN_SLOTS = 4096;
const interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS).fill(undefined);
// Admission: a string enters the cache only on its second sighting (its hash is remembered here,
// without keeping any object alive), so one-off values do not fill the old generation.
const SEEN_SLOTS = 4096;
const stringSeen = new Int32Array(SEEN_SLOTS);

/**
 * The UTF-8 string in `buf[start, end)`; short ASCII strings seen before come back as the cached
 * instance (no allocation). Throws on invalid UTF-8.
 */
export function asciiOrUtf8(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n > 48) return utf8.decode(buf.subarray(start, end));
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return utf8.decode(buf.subarray(start, end));
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const hit = interned[slot];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return hit;
  }
  const s = shortAscii(buf, start, n);
  const seen = (h >>> 12) & (SEEN_SLOTS - 1);
  if (stringSeen[seen] !== (h | 0)) stringSeen[seen] = h | 0;
  else interned[slot] = s;
  return s;
}

// A string from n ASCII bytes; up to 8 without a subarray (high-cardinality values miss the cache).
function shortAscii(b: Uint8Array, s: number, n: number): string {
  switch (n) {
    case 1:
      return String.fromCharCode(b[s]!);
    case 2:
      return String.fromCharCode(b[s]!, b[s + 1]!);
    case 3:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!);
    case 4:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!);
    case 5:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!);
    case 6:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!);
    case 7:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!);
    case 8:
      return String.fromCharCode(b[s]!, b[s + 1]!, b[s + 2]!, b[s + 3]!, b[s + 4]!, b[s + 5]!, b[s + 6]!, b[s + 7]!);
    default:
      return n <= 16 ? String.fromCharCode.apply(null, b.subarray(s, s + n) as unknown as number[]) : latin1.decode(b.subarray(s, s + n));
  }
}

// ASCII-only input here, so latin1 decoding is exact.
const latin1 = new TextDecoder("latin1");
