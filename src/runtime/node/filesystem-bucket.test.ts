import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bucketReader } from "../../objstore/bucket-reader.ts";
import { ObjectNotFoundError, readRangeInto } from "../../objstore/bucket.ts";
import { createMemoryBucket } from "../../objstore/memory-bucket.ts";
import { withPrefix } from "../../objstore/prefixed-bucket.ts";
import { TruncatedError } from "../../tsdb/byte-range-reader.ts";
import { createFilesystemBucket } from "./filesystem-bucket.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "meridian-fsb-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const openFds = async () => (await readdir("/proc/self/fd")).length;
/** Open descriptors once they drop to `limit` (closes of evicted handles finish asynchronously); gives up after 5 s. */
async function fdsSettled(limit: number): Promise<number> {
  let n = await openFds();
  for (let i = 0; i < 100 && n > limit; i++) {
    await new Promise((r) => setTimeout(r, 50));
    n = await openFds();
  }
  return n;
}

describe("filesystem bucket range reads with cached file handles", () => {
  it("reads correct ranges across many files while keeping at most maxOpenFiles handles", async () => {
    const b = createFilesystemBucket(dir, { maxOpenFiles: 4 });
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `blk/chunks/${String(i).padStart(6, "0")}`, body: bytes(1000 + i, i) }));
    for (const f of files) await b.upload(f.name, f.body);
    const before = await openFds();
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        files.map(async (f, i) => {
          const off = (i * 17 + round * 5) % 900;
          expect(await b.getRange(f.name, off, 50)).toEqual(f.body.subarray(off, off + 50));
        }),
      );
    }
    // A range past the end is clamped to the file, as before.
    expect(await b.getRange(files[0]!.name, 990, 100)).toEqual(files[0]!.body.subarray(990));
    // Evicted handles close once their reads finish.
    expect(await fdsSettled(before + 4)).toBeLessThanOrEqual(before + 4);
    await b.close();
    expect(await fdsSettled(before)).toBeLessThanOrEqual(before);
  });

  it("sees a re-uploaded object's new bytes and reports a deleted object as not found", async () => {
    const b = createFilesystemBucket(dir);
    await b.upload("a/index", bytes(100, 1));
    expect(await b.getRange("a/index", 10, 10)).toEqual(bytes(100, 1).subarray(10, 20));
    await b.upload("a/index", bytes(200, 2));
    expect(await b.getRange("a/index", 150, 10)).toEqual(bytes(200, 2).subarray(150, 160));
    await b.delete("a/index");
    await expect(b.getRange("a/index", 0, 10)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await b.upload("a/index", bytes(50, 3));
    expect(await b.getRange("a/index", 0, 50)).toEqual(bytes(50, 3));
    await b.close();
  });

  it("works without caching (maxOpenFiles 0) and after close", async () => {
    const b = createFilesystemBucket(dir, { maxOpenFiles: 0 });
    await b.upload("x", bytes(64, 4));
    expect(await b.getRange("x", 8, 8)).toEqual(bytes(64, 4).subarray(8, 16));
    const c = createFilesystemBucket(dir, { maxOpenFiles: 1 });
    expect(await c.getRange("x", 0, 4)).toEqual(bytes(64, 4).subarray(0, 4));
    await c.close();
    expect(await c.getRange("x", 4, 4)).toEqual(bytes(64, 4).subarray(4, 8));
    await c.close();
    await expect(c.getRange("missing", 0, 1)).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("reads the same bytes synchronously (small ranges) and through the thread pool (large ranges)", async () => {
    const body = bytes(300_000, 9);
    for (const syncReadMaxBytes of [0, 64 * 1024, 1 << 30]) {
      const b = createFilesystemBucket(dir, { syncReadMaxBytes });
      await b.upload("blk/chunks/000001", body);
      for (const [off, len] of [[0, 1], [7, 4096], [1000, 65_536], [1000, 65_537], [5, 250_000], [299_990, 100], [300_000, 10], [400_000, 10], [0, 0]] as const) {
        const got = await b.getRange("blk/chunks/000001", off, len);
        expect(got).toEqual(body.subarray(off, off + len));
        // A plain Uint8Array over a buffer of its own (no Buffer pool slices, no Buffer semantics).
        expect(Object.getPrototypeOf(got)).toBe(Uint8Array.prototype);
      }
      // Concurrent reads of both kinds on one cached handle.
      const ranges = Array.from({ length: 40 }, (_, i) => [(i * 7919) % 200_000, i % 2 === 0 ? 100 + i : 70_000 + i] as const);
      const got = await Promise.all(ranges.map(([o, l]) => b.getRange("blk/chunks/000001", o, l)));
      got.forEach((g, i) => expect(g).toEqual(body.subarray(ranges[i]![0], ranges[i]![0] + ranges[i]![1])));
      await b.close();
    }
  });

  it("reads ranges into the caller's memory (getRangeInto), also through a prefix and a bucket reader", async () => {
    const body = bytes(200_000, 5);
    const b = createFilesystemBucket(dir);
    await b.upload("t/blk/chunks/000001", body);
    for (const bucket of [b, withPrefix(b, "t")]) {
      const name = bucket === b ? "t/blk/chunks/000001" : "blk/chunks/000001";
      expect(bucket.getRangeInto).toBeTypeOf("function");
      for (const [off, len] of [[3, 100], [1000, 100_000], [199_950, 100], [250_000, 10]] as const) {
        const target = new Uint8Array(len).fill(0xee);
        const n = await readRangeInto(bucket, name, off, target);
        expect(n).toBe(Math.max(0, Math.min(len, body.length - off)));
        expect(target.subarray(0, n)).toEqual(body.subarray(off, off + n));
      }
      await expect(readRangeInto(bucket, "t/missing", 0, new Uint8Array(4))).rejects.toBeInstanceOf(ObjectNotFoundError);
      const r = bucketReader(bucket, name);
      const target = new Uint8Array(70_000);
      await r.readInto!(500, target);
      expect(target).toEqual(body.subarray(500, 70_500));
      await expect(r.readInto!(199_000, new Uint8Array(2000))).rejects.toBeInstanceOf(TruncatedError);
    }
    await b.close();
    // Buckets without getRangeInto: readRangeInto copies from getRange; bucket readers offer no readInto.
    const m = createMemoryBucket();
    await m.upload("x", body);
    const t = new Uint8Array(10);
    expect(await readRangeInto(m, "x", 20, t)).toBe(10);
    expect(t).toEqual(body.subarray(20, 30));
    expect(bucketReader(m, "x").readInto).toBeUndefined();
  });
});
