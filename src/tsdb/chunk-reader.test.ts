import { describe, expect, it } from "vitest";
import { createMemoryReader } from "./byte-range-reader.ts";
import { openChunkReader, type SegmentReader } from "./chunk-reader.ts";
import { createChunkWriter } from "./chunk-writer.ts";
import { crc32cRange } from "./crc32c.ts";
import { CorruptionError } from "./errors.ts";

function segment(sizes: number[]): { bytes: Uint8Array; refs: number[] } {
  const w = createChunkWriter();
  const refs = w.writeChunks(sizes.map((n, i) => ({ encoding: 1, data: new Uint8Array(n).fill(i + 1) })));
  return { bytes: w.files().get("chunks/000001")!, refs };
}

describe("chunk reader records", () => {
  it("gives every record's encoding, data and CRC positions in the order of the refs (short and long records, unsorted refs)", async () => {
    const { bytes, refs } = segment([10, 3000, 0, 200, 1500, 7]);
    const reader = openChunkReader(() => createMemoryReader("blk/chunks/000001", bytes), { chunkSizeEstimate: 64, maxGap: 16 });
    const want = [5, 0, 3, 1, 4, 2, 0];
    const r = await reader.records(want.map((i) => refs[i]!));
    expect(r.count).toBe(want.length);
    const sizes = [10, 3000, 0, 200, 1500, 7];
    want.forEach((c, i) => {
      const b = r.buffers[r.buffer[i]!]!;
      expect(b[r.encAt[i]!]).toBe(1);
      const data = b.subarray(r.encAt[i]! + 1, r.crcAt[i]!);
      expect(data).toEqual(new Uint8Array(sizes[c]!).fill(c + 1));
      const stored = (b[r.crcAt[i]!]! << 24 | b[r.crcAt[i]! + 1]! << 16 | b[r.crcAt[i]! + 2]! << 8 | b[r.crcAt[i]! + 3]!) >>> 0;
      expect(crc32cRange(b, r.encAt[i]!, r.crcAt[i]!)).toBe(stored);
    });
    const chunks = await reader.chunks(want.map((i) => refs[i]!));
    expect(chunks.map((c) => c.data.length)).toEqual(want.map((i) => sizes[i]));
  });

  it("checks CRCs unless told not to, and names file and offset for a mismatch either way", async () => {
    const { bytes, refs } = segment([40, 40]);
    bytes[refs[1]! + 2 + 5]! ^= 0xff; // inside record 1's data
    const reader = openChunkReader(() => createMemoryReader("blk/chunks/000001", bytes));
    await expect(reader.records(refs)).rejects.toThrow(/blk\/chunks\/000001: corrupt chunk at offset \d+: CRC32C mismatch/);
    const r = await reader.records(refs, { verify: false });
    const err = r.corrupt(1);
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.file).toBe("blk/chunks/000001");
    expect(err.offset).toBe(refs[1]! + 1);
    expect(err.message).toMatch(/CRC32C mismatch/);
  });

  it("rejects refs outside the segment before reading", async () => {
    const { bytes, refs } = segment([40]);
    const reader = openChunkReader(() => createMemoryReader("blk/chunks/000001", bytes));
    await expect(reader.records([refs[0]!, bytes.length + 5])).rejects.toThrow(/points outside the segment/);
    await expect(reader.records([4])).rejects.toThrow(/points outside the segment/);
  });

  it("reads merged ranges into the caller's memory (alloc + readInto), with the same records and corruption errors", async () => {
    const sizes = [10, 3000, 0, 200, 1500, 7];
    const { bytes, refs } = segment(sizes);
    const mem = createMemoryReader("blk/chunks/000001", bytes);
    const intoCalls: number[] = [];
    const withInto: SegmentReader = {
      ...mem,
      async readInto(offset, target) {
        intoCalls.push(target.length);
        target.set(await mem.read(offset, target.length));
      },
    };
    const given: Uint8Array[] = [];
    const alloc = (n: number) => {
      const b = new Uint8Array(n).fill(0xee); // stale content, as pooled memory has
      given.push(b);
      return b;
    };
    const want = [5, 0, 3, 1, 4, 2];
    const plain = await openChunkReader(() => mem, { chunkSizeEstimate: 64, maxGap: 16 }).records(want.map((i) => refs[i]!));
    const r = await openChunkReader(() => withInto, { chunkSizeEstimate: 64, maxGap: 16 }).records(want.map((i) => refs[i]!), { alloc });
    expect(intoCalls.length).toBeGreaterThan(0);
    expect(given.length).toBe(intoCalls.length);
    want.forEach((c, i) => {
      const b = r.buffers[r.buffer[i]!]!;
      expect(b.subarray(r.encAt[i]! + 1, r.crcAt[i]!)).toEqual(new Uint8Array(sizes[c]!).fill(c + 1));
      const p = plain.buffers[plain.buffer[i]!]!;
      expect(b.subarray(r.encAt[i]!, r.crcAt[i]! + 4)).toEqual(p.subarray(plain.encAt[i]!, plain.crcAt[i]! + 4));
    });
    // Merged reads landed in the given arrays (re-reads of long chunks are fresh reads).
    expect(r.buffers.filter((b) => given.includes(b)).length).toBe(given.length);
    // Readers without readInto ignore alloc.
    given.length = 0;
    await openChunkReader(() => mem).records(refs, { alloc });
    expect(given.length).toBe(0);
    // A corrupt record read this way is reported with file and offset.
    const bad = bytes.slice();
    bad[refs[3]! + 2 + 5]! ^= 0xff;
    const badMem = createMemoryReader("blk/chunks/000001", bad);
    const badInto: SegmentReader = { ...badMem, readInto: async (o, t) => t.set(await badMem.read(o, t.length)) };
    await expect(openChunkReader(() => badInto).records(refs, { alloc })).rejects.toThrow(/blk\/chunks\/000001: corrupt chunk at offset \d+: CRC32C mismatch/);
  });
});
