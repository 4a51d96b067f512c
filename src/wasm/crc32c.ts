/**
 * Chunk record checks through the WASM kernel (`wasm/crc32c.ts`): the CRC32C of every record and
 * the XXH64 of its data in one call over one copy of the bytes. The store gateway verifies every
 * chunk it serves (corrupt bytes are reported, never sent) and hashes it for `Chunk.hash`; done in
 * JS that is a slicing-by-8 loop at ~1.1 GB/s plus a second copy for the hash kernel.
 */
import type { MeridianWasm } from "./module.ts";

interface Crc32cExports {
  crc32c(p: number, len: number): number;
  chunkRecordsCheckHash(input: number, spans: number, n: number, out: number, meta: number, tmp: number): number;
}

/** True when the loaded module has the chunk record kernel (an older `meridian.wasm` may not). */
export function hasWasmChunkCheck(wasm: MeridianWasm): boolean {
  return typeof (wasm.exports as unknown as Partial<Crc32cExports>).chunkRecordsCheckHash === "function";
}

/**
 * Chunk records to check, structure of arrays: record i lies in `buffers[buffer[i]]`, its
 * encoding byte at `encAt[i]`, its data up to `crcAt[i]` and the big-endian CRC32C of
 * `[encAt, crcAt)` in the 4 bytes at `crcAt[i]`.
 */
export interface ChunkRecordSpans {
  readonly count: number;
  readonly buffers: readonly Uint8Array[];
  readonly buffer: Uint32Array;
  readonly encAt: Uint32Array;
  readonly crcAt: Uint32Array;
}

/**
 * Checks every record's CRC32C and writes the XXH64 of its data into `hashes` as (low, high)
 * 32-bit halves at `2 * i`, and, when given, `meta[i]` = encoding byte | sample count << 8 (the
 * 2-byte big-endian count that starts XOR and histogram chunks; 0 for shorter data). Returns -1
 * when all records are intact, else the index of the first corrupt one (later results unset).
 * Resets the module's scratch arena.
 */
export function checkAndHashChunkRecords(wasm: MeridianWasm, r: ChunkRecordSpans, hashes: Uint32Array, meta?: Uint32Array): number {
  const n = r.count;
  if (n === 0) return -1;
  // Consecutive records of one buffer are copied as one run (the length varint between them rides along).
  let total = 0;
  for (let i = 0; i < n; i++) {
    const b = r.buffer[i]!;
    const from = r.encAt[i]!;
    const to = r.crcAt[i]! + 4;
    if (i > 0 && b === r.buffer[i - 1]! && from >= r.crcAt[i - 1]! + 4 && from - (r.crcAt[i - 1]! + 4) <= 16) total += to - (r.crcAt[i - 1]! + 4);
    else total += to - from;
  }
  if (total > 0xffff_ffff) throw new RangeError(`checkAndHashChunkRecords: ${total} bytes exceed one batch (4 GiB)`);
  wasm.reset();
  const outPtr = wasm.alloc(n * 8);
  const metaPtr = wasm.alloc(n * 4);
  const spanPtr = wasm.alloc(n * 8);
  const tmpPtr = wasm.alloc(8);
  const inPtr = wasm.alloc(total);
  const input = wasm.u8(inPtr, total);
  const spans = wasm.u32(spanPtr, 2 * n);
  let p = 0;
  let runBuf = -1;
  let runFrom = 0;
  let runTo = 0;
  let runAt = 0;
  for (let i = 0; i < n; i++) {
    const b = r.buffer[i]!;
    const from = r.encAt[i]!;
    const to = r.crcAt[i]! + 4;
    if (!(b === runBuf && from >= runTo && from - runTo <= 16)) {
      if (runBuf >= 0) input.set(r.buffers[runBuf]!.subarray(runFrom, runTo), runAt);
      runBuf = b;
      runFrom = from;
      runAt = p;
    } else {
      p += from - runTo;
    }
    runTo = to;
    spans[2 * i] = p;
    spans[2 * i + 1] = p + (to - 4 - from);
    p += to - from;
  }
  input.set(r.buffers[runBuf]!.subarray(runFrom, runTo), runAt);
  const bad = (wasm.exports as unknown as Crc32cExports).chunkRecordsCheckHash(inPtr, spanPtr, n, outPtr, metaPtr, tmpPtr);
  hashes.set(wasm.u32(outPtr, 2 * n));
  meta?.set(wasm.u32(metaPtr, n));
  return bad;
}
