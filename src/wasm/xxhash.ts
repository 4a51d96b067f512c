/**
 * Batch XXH64 (seed 0) through the WASM kernel (`wasm/xxhash.ts`). The store gateway hashes every
 * chunk it serves (`Chunk.hash`); hashing a whole batch of chunks in one call with native 64-bit
 * arithmetic costs a memcpy plus a few ns per byte, instead of the 32-bit-halves JS version's
 * microseconds per chunk.
 */
import type { MeridianWasm } from "./module.ts";

/** The kernel's export (kept here so the module's shared export list needs no change). */
interface XxhashExports {
  xxhash64Batch(input: number, offsets: number, n: number, out: number): number;
}

/** True when the loaded module has the XXH64 kernel (an older `meridian.wasm` may not). */
export function hasWasmXxhash(wasm: MeridianWasm): boolean {
  return typeof (wasm.exports as unknown as Partial<XxhashExports>).xxhash64Batch === "function";
}

/**
 * XXH64 of each byte range in `data`, in one WASM call. Returns an owned array (result i belongs
 * to `data[i]`). Resets the module's scratch arena: views from earlier calls become invalid.
 */
export function xxhash64Batch(wasm: MeridianWasm, data: readonly Uint8Array[]): BigUint64Array {
  const n = data.length;
  if (n === 0) return new BigUint64Array(0);
  let total = 0;
  for (let i = 0; i < n; i++) total += data[i]!.length;
  if (total > 0xffff_ffff) throw new RangeError(`xxhash64Batch: ${total} bytes exceed one batch (4 GiB)`);
  wasm.reset();
  const outPtr = wasm.alloc(n * 8);
  const offPtr = wasm.alloc((n + 1) * 4);
  const inPtr = wasm.alloc(total);
  // Views after the last alloc: memory may have grown (and detached older views).
  const input = wasm.u8(inPtr, total);
  const offsets = wasm.u32(offPtr, n + 1);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const d = data[i]!;
    offsets[i] = p;
    input.set(d, p);
    p += d.length;
  }
  offsets[n] = p;
  const bad = (wasm.exports as unknown as XxhashExports).xxhash64Batch(inPtr, offPtr, n, outPtr);
  if (bad >= 0) throw new Error(`xxhash64Batch: inverted bounds for range ${bad}`);
  return new BigUint64Array(wasm.memory.buffer, outPtr, n).slice();
}

/** XXH64 of one byte range through WASM (convenience for single values; batch when you can). */
export function xxhash64Wasm(wasm: MeridianWasm, data: Uint8Array): bigint {
  return xxhash64Batch(wasm, [data])[0]!;
}
