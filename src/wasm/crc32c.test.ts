import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import { xxhash64 } from "../store/xxhash64.ts";
import { crc32c } from "../tsdb/crc32c.ts";
import { writeBe32 } from "../tsdb/decoder.ts";
import type { MeridianWasm } from "./module.ts";
import { checkAndHashChunkRecords, hasWasmChunkCheck, type ChunkRecordSpans } from "./crc32c.ts";

let wasm: MeridianWasm;

beforeAll(async () => {
  wasm = await loadWasm();
});

/** Chunk records (uvarint-free: one length byte, encoding, data, CRC) laid out in a few buffers with gaps. */
function layout(chunks: { data: Uint8Array; gap: number; buffer: number }[], nBuffers: number): ChunkRecordSpans {
  const parts: number[][] = Array.from({ length: nBuffers }, () => []);
  const buffer = new Uint32Array(chunks.length);
  const encAt = new Uint32Array(chunks.length);
  const crcAt = new Uint32Array(chunks.length);
  chunks.forEach((c, i) => {
    const p = parts[c.buffer]!;
    for (let g = 0; g < c.gap; g++) p.push(0xee);
    p.push(c.data.length & 0x7f);
    buffer[i] = c.buffer;
    encAt[i] = p.length;
    const rec = new Uint8Array(1 + c.data.length + 4);
    rec[0] = 1;
    rec.set(c.data, 1);
    writeBe32(rec, 1 + c.data.length, crc32c(rec.subarray(0, 1 + c.data.length)));
    p.push(...rec);
    crcAt[i] = p.length - 4;
  });
  return { count: chunks.length, buffers: parts.map((p) => Uint8Array.from(p)), buffer, encAt, crcAt };
}

describe("chunk record check + hash (wasm)", () => {
  it("is in the module", () => {
    expect(hasWasmChunkCheck(wasm)).toBe(true);
  });

  it("accepts intact records and hashes each one's data like the JS XXH64 (gaps, several buffers, any order)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ data: fc.uint8Array({ maxLength: 300 }), gap: fc.constantFrom(0, 0, 1, 7, 40), buffer: fc.nat(2) }), { maxLength: 30 }),
        (chunks) => {
          const r = layout(chunks, 3);
          const hashes = new Uint32Array(2 * r.count);
          const meta = new Uint32Array(r.count);
          expect(checkAndHashChunkRecords(wasm, r, hashes, meta)).toBe(-1);
          chunks.forEach((c, i) => {
            expect(meta[i]).toBe(1 | ((c.data.length >= 2 ? (c.data[0]! << 8) | c.data[1]! : 0) << 8));
            const h = xxhash64(c.data);
            expect([hashes[2 * i], hashes[2 * i + 1]]).toEqual([Number(BigInt.asUintN(32, h)), Number(h >> 32n)]);
          });
        },
      ),
    );
  });

  it("reports the first record whose CRC does not match", () => {
    const chunks = [0, 1, 2, 3].map((i) => ({ data: new Uint8Array(50 + i).fill(i + 1), gap: 0, buffer: 0 }));
    const r = layout(chunks, 1);
    const hashes = new Uint32Array(2 * r.count);
    // A flipped data byte in record 2, then a flipped stored CRC in record 3.
    r.buffers[0]![r.encAt[2]! + 10]! ^= 0x40;
    r.buffers[0]![r.crcAt[3]!]! ^= 1;
    expect(checkAndHashChunkRecords(wasm, r, hashes)).toBe(2);
    r.buffers[0]![r.encAt[2]! + 10]! ^= 0x40;
    expect(checkAndHashChunkRecords(wasm, r, hashes)).toBe(3);
    // The encoding byte is covered too.
    r.buffers[0]![r.crcAt[3]!]! ^= 1;
    r.buffers[0]![r.encAt[0]!]! = 2;
    expect(checkAndHashChunkRecords(wasm, r, hashes)).toBe(0);
  });

  it("computes the standard CRC32C check value", () => {
    wasm.reset();
    const p = wasm.alloc(9);
    wasm.u8(p, 9).set(new TextEncoder().encode("123456789"));
    expect((wasm.exports as unknown as { crc32c(p: number, n: number): number }).crc32c(p, 9) >>> 0).toBe(0xe3069283);
  });
});
