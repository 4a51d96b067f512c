/**
 * One conformance suite for every Bucket implementation (memory, filesystem, S3 via s3rver), plus
 * S3-specific behaviour: paged listing, prefixes, retries of transient errors and clean not-found.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isObjectNotFound, type Bucket } from "../src/objstore/bucket.ts";
import { bucketReader } from "../src/objstore/bucket-reader.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import { withPrefix } from "../src/objstore/prefixed-bucket.ts";
import { createS3Bucket } from "../src/objstore/s3-bucket.ts";
import { TruncatedError } from "../src/tsdb/byte-range-reader.ts";
import { createFilesystemBucket } from "../src/runtime/node/filesystem-bucket.ts";
import { openBucketFromFlags } from "../src/runtime/node/objstore.ts";
import { startS3rver, type S3rverHandle } from "./helpers/s3rver.ts";
import { startFaultProxy } from "./helpers/s3rver-faults.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function list(b: Bucket, dir: string, recursive = false): Promise<string[]> {
  const out: string[] = [];
  await b.iter(dir, (n) => void out.push(n), { recursive });
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function rejectsNotFound(p: Promise<unknown>): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isObjectNotFound(err), String(err)).toBe(true);
}

function conformance(label: string, make: () => Promise<{ bucket: Bucket; cleanup(): Promise<void> }>) {
  describe(`bucket conformance: ${label}`, () => {
    let bucket: Bucket;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ bucket, cleanup } = await make());
      const files: Record<string, string> = {
        "01A/meta.json": "{}",
        "01A/index": "0123456789abcdefghij",
        "01A/chunks/000001": "chunk-one",
        "01A/chunks/000002": "chunk-two",
        "01B/meta.json": "{\"b\":1}",
        "a.txt": "top",
        "empty": "",
      };
      for (const [k, v] of Object.entries(files)) await bucket.upload(k, enc.encode(v));
    });
    afterAll(async () => {
      await bucket.close();
      await cleanup();
    });

    it("gets whole objects and ranges", async () => {
      expect(dec.decode(await bucket.get("01A/index"))).toBe("0123456789abcdefghij");
      expect(dec.decode(await bucket.getRange("01A/index", 10, 5))).toBe("abcde");
      expect(dec.decode(await bucket.getRange("01A/index", 0, 1))).toBe("0");
      expect(dec.decode(await bucket.getRange("01A/index", 15, 100))).toBe("fghij"); // shortened at the end
      expect((await bucket.getRange("01A/index", 20, 4)).length).toBe(0); // at the end
      expect((await bucket.getRange("01A/index", 25, 4)).length).toBe(0); // past the end
      expect((await bucket.get("empty")).length).toBe(0);
    });

    it("reports missing objects as not found", async () => {
      await rejectsNotFound(bucket.get("nope/meta.json"));
      await rejectsNotFound(bucket.getRange("nope", 0, 10));
      await rejectsNotFound(bucket.getRange("nope", 0, 0));
      await rejectsNotFound(bucket.attributes("nope"));
      await rejectsNotFound(bucket.delete("nope"));
      expect(await bucket.exists("nope")).toBe(false);
      expect(await bucket.exists("01A")).toBe(false); // a "directory" is not an object
      expect(await bucket.exists("01A/meta.json")).toBe(true);
    });

    it("rejects bad ranges", async () => {
      await expect(bucket.getRange("01A/index", -1, 2)).rejects.toThrow(/invalid range/);
      await expect(bucket.getRange("01A/index", 0, -2)).rejects.toThrow(/invalid range/);
    });

    it("lists with Thanos iter semantics", async () => {
      expect(await list(bucket, "")).toEqual(["01A/", "01B/", "a.txt", "empty"]);
      expect(await list(bucket, "01A")).toEqual(["01A/chunks/", "01A/index", "01A/meta.json"]);
      expect(await list(bucket, "01A/")).toEqual(["01A/chunks/", "01A/index", "01A/meta.json"]);
      expect(await list(bucket, "01A/chunks")).toEqual(["01A/chunks/000001", "01A/chunks/000002"]);
      expect(await list(bucket, "missing/")).toEqual([]);
      expect(await list(bucket, "", true)).toEqual([
        "01A/chunks/000001", "01A/chunks/000002", "01A/index", "01A/meta.json", "01B/meta.json", "a.txt", "empty",
      ]);
      expect(await list(bucket, "01A", true)).toEqual(["01A/chunks/000001", "01A/chunks/000002", "01A/index", "01A/meta.json"]);
    });

    it("awaits async iter callbacks in order and propagates their errors", async () => {
      const seen: string[] = [];
      await bucket.iter("01A/chunks/", async (n) => {
        await new Promise((r) => setTimeout(r, 1));
        seen.push(n);
      });
      expect(seen).toEqual(["01A/chunks/000001", "01A/chunks/000002"]);
      await expect(bucket.iter("", () => { throw new Error("stop here"); })).rejects.toThrow("stop here");
    });

    it("reports attributes", async () => {
      const a = await bucket.attributes("01A/index");
      expect(a.size).toBe(20);
      expect(a.lastModified).toBeInstanceOf(Date);
      expect(Math.abs(a.lastModified.getTime() - Date.now())).toBeLessThan(600_000);
    });

    it("uploads streams and overwrites", async () => {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode("hello "));
          c.enqueue(enc.encode("stream"));
          c.close();
        },
      });
      await bucket.upload("s/streamed", stream);
      expect(dec.decode(await bucket.get("s/streamed"))).toBe("hello stream");
      await bucket.upload("s/streamed", enc.encode("v2"));
      expect(dec.decode(await bucket.get("s/streamed"))).toBe("v2");
      const big = new Uint8Array(3 * 1024 * 1024 + 7);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 10)) & 0xff;
      await bucket.upload("s/big", big);
      expect(sameBytes(await bucket.get("s/big"), big)).toBe(true);
      expect([...(await bucket.getRange("s/big", 2_000_000, 10))]).toEqual([...big.subarray(2_000_000, 2_000_010)]);
    });

    it("deletes objects and their now-empty directories disappear from listings", async () => {
      // One level deep: s3rver omits common prefixes that only hold deeper keys (real S3 does not).
      await bucket.upload("gone/y", enc.encode("1"));
      expect(await list(bucket, "")).toContain("gone/");
      await bucket.delete("gone/y");
      expect(await bucket.exists("gone/y")).toBe(false);
      expect(await list(bucket, "")).not.toContain("gone/");
    });

    it("rejects invalid names", async () => {
      await expect(bucket.upload("../escape", enc.encode("x"))).rejects.toThrow(/invalid object name/);
      await expect(bucket.upload("/abs", enc.encode("x"))).rejects.toThrow(/invalid object name/);
      await expect(bucket.upload("dir/", enc.encode("x"))).rejects.toThrow(/invalid object name/);
    });

    it("serves a ByteRangeReader with exact reads and truncation errors", async () => {
      const r = bucketReader(bucket, "01A/index");
      expect(await r.size()).toBe(20);
      expect(dec.decode(await r.read(2, 3))).toBe("234");
      const err = await r.read(18, 5).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TruncatedError);
      expect((err as TruncatedError).message).toMatch(/01A\/index.*truncated.*20 bytes/);
    });

    it("works under a prefix", async () => {
      const p = withPrefix(bucket, "tenant-a/");
      await p.upload("01C/meta.json", enc.encode("p"));
      expect(dec.decode(await bucket.get("tenant-a/01C/meta.json"))).toBe("p");
      expect(await list(p, "")).toEqual(["01C/"]);
      expect(await list(p, "", true)).toEqual(["01C/meta.json"]);
      expect(await list(bucket, "tenant-a")).toEqual(["tenant-a/01C/"]);
      await p.delete("01C/meta.json");
      expect(await p.exists("01C/meta.json")).toBe(false);
    });
  });
}

conformance("memory", async () => ({ bucket: createMemoryBucket(), cleanup: async () => {} }));

conformance("filesystem", async () => {
  const dir = mkdtempSync(join(tmpdir(), "meridian-fsbucket-"));
  return { bucket: createFilesystemBucket(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

let s3rver: S3rverHandle | undefined;
conformance("s3 (s3rver)", async () => {
  s3rver = await startS3rver(["conformance", "paging", "retry"]);
  return { bucket: createS3Bucket(s3rver.config("conformance")), cleanup: async () => {} };
});

describe("s3 bucket specifics", () => {
  afterAll(async () => {
    await s3rver?.stop();
  });

  it("pages through listings larger than one page", async () => {
    const b = createS3Bucket(s3rver!.config("paging", { listPageSize: 3 }));
    const names = Array.from({ length: 11 }, (_, i) => `blk/${String(i).padStart(3, "0")}`);
    for (const n of names) await b.upload(n, enc.encode(n));
    await b.upload("blk/sub/x", enc.encode("x"));
    expect(await list(b, "blk")).toEqual([...names, "blk/sub/"]);
    expect(await list(b, "", true)).toEqual([...names, "blk/sub/x"]);
    await b.close();
  });

  it("uploads large streamed bodies in parts and reads them back exactly", async () => {
    const b = createS3Bucket(s3rver!.config("paging", { partSize: 5 * 1024 * 1024 }));
    const total = 11 * 1024 * 1024 + 12345;
    const src = new Uint8Array(total);
    for (let i = 0; i < total; i++) src[i] = (i * 131 + (i >> 12)) & 0xff;
    let pos = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pos >= total) return c.close();
        const n = Math.min(777_777, total - pos); // odd piece sizes straddle part boundaries
        c.enqueue(src.slice(pos, pos + n));
        pos += n;
      },
    });
    await b.upload("big/streamed", stream);
    expect((await b.attributes("big/streamed")).size).toBe(total);
    expect(sameBytes(await b.get("big/streamed"), src)).toBe(true);
    await b.upload("big/array", src); // a large Uint8Array takes the same path
    expect(sameBytes(await b.getRange("big/array", 5 * 1024 * 1024 - 3, 10), src.subarray(5 * 1024 * 1024 - 3, 5 * 1024 * 1024 + 7))).toBe(true);
    await b.close();
  });

  it("retries 5xx responses and connection resets, then succeeds", async () => {
    const seed = createS3Bucket(s3rver!.config("retry"));
    await seed.upload("obj", enc.encode("payload"));
    await seed.close();
    const proxy = await startFaultProxy(s3rver!.endpoint);
    const retries: string[] = [];
    const b = createS3Bucket({ ...s3rver!.config("retry"), endpoint: proxy.endpoint, onRetry: (op) => retries.push(op) });
    proxy.inject("500", "reset", "503");
    expect(dec.decode(await b.get("obj"))).toBe("payload");
    expect(proxy.faulted).toBe(3);
    expect(retries).toEqual(["get", "get", "get"]);
    await b.close();
    await proxy.close();
  });

  it("times out a stalled request and retries it", async () => {
    const proxy = await startFaultProxy(s3rver!.endpoint);
    const b = createS3Bucket({ ...s3rver!.config("retry"), endpoint: proxy.endpoint, requestTimeoutMs: 300 });
    proxy.inject("stall");
    expect(dec.decode(await b.getRange("obj", 0, 3))).toBe("pay");
    expect(proxy.faulted).toBe(1);
    await b.close();
    await proxy.close();
  });

  it("gives up after the configured attempts with the last error", async () => {
    const proxy = await startFaultProxy(s3rver!.endpoint);
    const b = createS3Bucket({ ...s3rver!.config("retry"), endpoint: proxy.endpoint, maxAttempts: 2 });
    proxy.inject("500", "500", "500");
    await expect(b.get("obj")).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    expect(proxy.faulted).toBe(2);
    await b.close();
    await proxy.close();
  });

  it("does not retry a missing object", async () => {
    const retries: string[] = [];
    const b = createS3Bucket({ ...s3rver!.config("retry"), onRetry: (op) => retries.push(op) });
    await rejectsNotFound(b.get("missing"));
    expect(retries).toEqual([]);
    await b.close();
  });

  it("opens a bucket from Thanos YAML flags (S3 and FILESYSTEM, with prefix)", async () => {
    const s3 = await openBucketFromFlags({ "objstore.config": s3rver!.yaml("retry") });
    expect(dec.decode(await s3.get("obj"))).toBe("payload");
    await s3.close();
    const dir = mkdtempSync(join(tmpdir(), "meridian-fsflags-"));
    const fs = await openBucketFromFlags({ "objstore.config": `type: filesystem\nprefix: p\nconfig:\n  directory: ${dir}\n` });
    await fs.upload("x/y", enc.encode("z"));
    expect(readdirSync(join(dir, "p", "x"))).toEqual(["y"]);
    rmSync(dir, { recursive: true, force: true });
    await expect(openBucketFromFlags({})).rejects.toThrow(/--objstore.config-file/);
  });
});
