import { describe, expect, it } from "vitest";
import { chunkReadPoolBytes, createChunkReadLease } from "./chunk-read-pool.ts";

describe("chunk read pool", () => {
  it("reuses a call's settled buffers in a later call, never buffers of a failed batch or of a batch settled after the call ended", () => {
    const a = createChunkReadLease();
    const ok = a.batch();
    const b1 = ok.alloc(100_000);
    expect(b1.length).toBe(100_000);
    ok.settled();
    const failed = a.batch();
    const b2 = failed.alloc(100_000); // its read "failed": settled() never called
    const late = a.batch();
    const b3 = late.alloc(100_000);
    const before = chunkReadPoolBytes();
    a.release();
    late.settled(); // the read finished after the call ended
    expect(chunkReadPoolBytes() - before).toBe(b1.buffer.byteLength);
    // After release, allocations are plain.
    expect(a.batch().alloc(100_000).buffer).not.toBe(b1.buffer);

    const c = createChunkReadLease();
    const got = c.batch().alloc(90_000);
    expect(got.buffer).toBe(b1.buffer);
    expect(got.length).toBe(90_000);
    expect(got.buffer).not.toBe(b2.buffer);
    expect(got.buffer).not.toBe(b3.buffer);
    c.release();
  });

  it("does not pool small reads or buffers much larger than asked for", () => {
    const a = createChunkReadLease();
    const m = a.batch();
    const small = m.alloc(1000);
    expect(small.buffer.byteLength).toBe(1000);
    const big = m.alloc(4 * 1024 * 1024);
    m.settled();
    a.release();
    const c = createChunkReadLease();
    const x = c.batch();
    const y = x.alloc(200_000);
    expect(y.buffer).not.toBe(big.buffer); // 4 MiB is more than twice 200 KB
    expect(x.alloc(3 * 1024 * 1024).buffer).toBe(big.buffer);
    c.release();
  });
});
