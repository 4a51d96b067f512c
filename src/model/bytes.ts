/**
 * Byte-array helpers shared by the components: bodies and messages arrive in pieces (network
 * reads, stream chunks) and are joined once, into one allocation.
 */

/**
 * Joins `parts` into one new array. `total` is their summed length when the caller already
 * counted it (saves a pass). A single part is copied too, so the result never aliases a
 * caller's (possibly reused) buffer.
 */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  let n = total ?? 0;
  if (total === undefined) for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
