/**
 * The R2 Bucket adapter against a real R2 implementation (Miniflare's R2 binding, backed by
 * workerd): whole and ranged reads at every boundary, missing objects, Thanos listing semantics
 * (directories with a trailing "/", recursive, paged), stream uploads, delete and attributes, and the
 * TSDB range reader on top of it.
 */
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isObjectNotFound, type Bucket } from "../src/objstore/bucket.ts";
import { bucketReader } from "../src/objstore/bucket-reader.ts";
import { createR2Bucket, type R2BucketLike } from "../src/objstore/r2-bucket.ts";
import { TruncatedError } from "../src/tsdb/byte-range-reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
let mf: Miniflare;
let binding: R2BucketLike;
let bucket: Bucket;
let calls = 0;

async function list(dir: string, recursive = false): Promise<string[]> {
  const out: string[] = [];
  await bucket.iter(dir, (n) => void out.push(n), { recursive });
  return out;
}

async function notFound(p: Promise<unknown>): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isObjectNotFound(err), String(err)).toBe(true);
}

beforeAll(async () => {
  mf = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('') } }", r2Buckets: ["BLOCKS"], compatibilityDate: "2025-01-01" });
  binding = (await mf.getR2Bucket("BLOCKS")) as unknown as R2BucketLike;
  // Small pages so paging is exercised; count calls through the `around` hook.
  const paged: R2BucketLike = { ...binding, get: binding.get.bind(binding), head: binding.head.bind(binding), put: binding.put.bind(binding), delete: binding.delete.bind(binding), list: (o) => binding.list({ ...o, limit: 2 }) };
  bucket = createR2Bucket(paged, { name: "BLOCKS", around: (fn) => { calls++; return fn(); } });
  const files: Record<string, string> = {
    "01A/meta.json": "{}",
    "01A/index": "0123456789abcdefghij",
    "01A/chunks/000001": "chunk-one",
    "01A/chunks/000002": "chunk-two",
    "01B/meta.json": '{"b":1}',
    "a.txt": "top",
    "empty": "",
  };
  for (const [k, v] of Object.entries(files)) await bucket.upload(k, enc.encode(v));
});

afterAll(async () => {
  await mf.dispose();
});

describe("R2 bucket adapter (Miniflare R2)", () => {
  it("reads whole objects and ranges at every boundary", async () => {
    expect(dec.decode(await bucket.get("01A/index"))).toBe("0123456789abcdefghij");
    expect(dec.decode(await bucket.getRange("01A/index", 0, 5))).toBe("01234");
    expect(dec.decode(await bucket.getRange("01A/index", 10, 10))).toBe("abcdefghij");
    expect(dec.decode(await bucket.getRange("01A/index", 15, 100))).toBe("fghij");
    expect((await bucket.getRange("01A/index", 20, 5)).length).toBe(0);
    expect((await bucket.getRange("01A/index", 50, 5)).length).toBe(0);
    expect((await bucket.getRange("01A/index", 3, 0)).length).toBe(0);
    expect((await bucket.get("empty")).length).toBe(0);
    await expect(bucket.getRange("01A/index", -1, 2)).rejects.toThrow(RangeError);
  });

  it("reports missing objects as ObjectNotFoundError everywhere", async () => {
    await notFound(bucket.get("nope"));
    await notFound(bucket.getRange("nope", 0, 4));
    await notFound(bucket.getRange("nope", 0, 0));
    await notFound(bucket.attributes("nope"));
    await notFound(bucket.delete("nope"));
    expect(await bucket.exists("nope")).toBe(false);
    expect(await bucket.exists("a.txt")).toBe(true);
  });

  it("lists with Thanos semantics across pages", async () => {
    expect(await list("")).toEqual(["01A/", "01B/", "a.txt", "empty"]);
    expect(await list("01A")).toEqual(["01A/chunks/", "01A/index", "01A/meta.json"]);
    expect(await list("01A/")).toEqual(["01A/chunks/", "01A/index", "01A/meta.json"]);
    expect(await list("01A", true)).toEqual(["01A/chunks/000001", "01A/chunks/000002", "01A/index", "01A/meta.json"]);
    expect(await list("missing")).toEqual([]);
  });

  it("uploads streams, reports attributes and deletes", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode("hello "));
        c.enqueue(enc.encode("stream"));
        c.close();
      },
    });
    await bucket.upload("01C/meta.json", body);
    expect(dec.decode(await bucket.get("01C/meta.json"))).toBe("hello stream");
    const attrs = await bucket.attributes("01C/meta.json");
    expect(attrs.size).toBe(12);
    expect(attrs.lastModified.getTime()).toBeGreaterThan(Date.now() - 60_000);
    await bucket.delete("01C/meta.json");
    expect(await bucket.exists("01C/meta.json")).toBe(false);
    await expect(bucket.upload("../escape", enc.encode("x"))).rejects.toThrow(/invalid object name/);
  });

  it("backs the TSDB range reader (size from attributes, truncation named)", async () => {
    const r = bucketReader(bucket, "01A/chunks/000001");
    expect(await r.size()).toBe(9);
    expect(dec.decode(await r.read(6, 3))).toBe("one");
    const err = await r.read(6, 10).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TruncatedError);
    expect(String(err)).toContain("01A/chunks/000001");
  });

  it("routes every binding call through the connection hook", () => {
    expect(calls).toBeGreaterThan(20);
  });
});
