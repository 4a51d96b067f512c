/**
 * ULIDs name TSDB blocks: 48-bit millisecond timestamp + 80 random bits, Crockford base32, 26
 * characters. Blocks sort by creation time through their names, which Prometheus and Thanos rely on.
 * Web Crypto randomness keeps this runtime-neutral.
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * Creates a ULID for `timeMs` (default now). `random` fills 10 bytes; it defaults to
 * `crypto.getRandomValues` and exists so tests can make deterministic ids.
 */
export function generateUlid(timeMs: number = Date.now(), random?: (bytes: Uint8Array) => void): string {
  if (!Number.isSafeInteger(timeMs) || timeMs < 0 || timeMs >= 2 ** 48) {
    throw new RangeError(`ulid: time ${timeMs} out of range`);
  }
  const rnd = new Uint8Array(10);
  if (random) random(rnd);
  else crypto.getRandomValues(rnd);
  let out = "";
  let t = timeMs;
  const timeChars: string[] = [];
  for (let i = 0; i < 10; i++) {
    timeChars.push(ALPHABET[t % 32]!);
    t = Math.floor(t / 32);
  }
  out += timeChars.reverse().join("");
  // 80 random bits → 16 characters of 5 bits, MSB first.
  let acc = 0;
  let bits = 0;
  for (const b of rnd) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** Milliseconds encoded in a ULID's first 10 characters (block creation time). */
export function ulidTime(ulid: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) {
    const v = ALPHABET.indexOf(ulid[i]!.toUpperCase());
    if (v < 0) throw new RangeError(`ulid: invalid character in ${JSON.stringify(ulid)}`);
    t = t * 32 + v;
  }
  return t;
}
