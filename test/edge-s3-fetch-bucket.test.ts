/**
 * The fetch-only S3 bucket used by the Worker: its SigV4 signature equals AWS's documented example
 * (GET with a Range header), its ListObjectsV2 parsing handles entities and paging, and it behaves
 * as a Bucket against s3rver (ranges at the edges, not-found, Thanos listing, upload, delete).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isObjectNotFound, type Bucket } from "../src/objstore/bucket.ts";
import { createFetchS3Bucket, parseListObjectsV2, signV4 } from "../src/runtime/workers/s3-fetch-bucket.ts";
import { startS3rver, type S3rverHandle } from "./helpers/s3rver.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("SigV4", () => {
  it("signs AWS's documented example (GET /test.txt with Range) to the published signature", async () => {
    const headers = await signV4({
      method: "GET",
      url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
      headers: { Range: "bytes=0-9" },
      payloadHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      accessKey: "AKIAIOSFODNN7EXAMPLE",
      secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      region: "us-east-1",
      date: new Date("2013-05-24T00:00:00Z"),
    });
    expect(headers["authorization"]).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
    expect(headers["x-amz-date"]).toBe("20130524T000000Z");
  });

  it("parses ListObjectsV2 pages (entities, common prefixes, continuation)", () => {
    const page = parseListObjectsV2(
      `<?xml version="1.0"?><ListBucketResult><Name>b</Name><Prefix>d/</Prefix><IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;1</NextContinuationToken>` +
        `<Contents><Key>d/a&amp;b.txt</Key><Size>3</Size></Contents><Contents><Key>d/c</Key></Contents><CommonPrefixes><Prefix>d/sub/</Prefix></CommonPrefixes></ListBucketResult>`,
    );
    expect(page).toEqual({ keys: ["d/a&b.txt", "d/c"], prefixes: ["d/sub/"], next: "tok&1" });
    expect(parseListObjectsV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")).toEqual({ keys: [], prefixes: [], next: undefined });
  });
});

describe("fetch S3 bucket against s3rver", () => {
  let s3: S3rverHandle;
  let bucket: Bucket;
  const list = async (dir: string, recursive = false) => {
    const out: string[] = [];
    await bucket.iter(dir, (n) => void out.push(n), { recursive });
    return out;
  };
  const notFound = async (p: Promise<unknown>) => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(isObjectNotFound(err), String(err)).toBe(true);
  };

  beforeAll(async () => {
    s3 = await startS3rver(["b"]);
    bucket = createFetchS3Bucket(s3.config("b", { listPageSize: 2 }));
    const files: Record<string, string> = {
      "01A/meta.json": "{}", "01A/index": "0123456789abcdefghij", "01A/chunks/000001": "chunk-one",
      "01A/chunks/000002": "chunk-two", "01B/meta.json": '{"b":1}', "a b+c.txt": "spaces", "empty": "",
    };
    for (const [k, v] of Object.entries(files)) await bucket.upload(k, enc.encode(v));
  }, 60_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it("reads objects and ranges at the edges", async () => {
    expect(dec.decode(await bucket.get("01A/index"))).toBe("0123456789abcdefghij");
    expect(dec.decode(await bucket.get("a b+c.txt"))).toBe("spaces");
    expect(dec.decode(await bucket.getRange("01A/index", 10, 10))).toBe("abcdefghij");
    expect(dec.decode(await bucket.getRange("01A/index", 15, 100))).toBe("fghij");
    expect((await bucket.getRange("01A/index", 20, 5)).length).toBe(0);
    expect((await bucket.getRange("01A/index", 4, 0)).length).toBe(0);
    expect((await bucket.get("empty")).length).toBe(0);
    expect((await bucket.attributes("01A/index")).size).toBe(20);
  });

  it("reports missing objects as not found", async () => {
    await notFound(bucket.get("nope"));
    await notFound(bucket.getRange("nope", 0, 3));
    await notFound(bucket.attributes("nope"));
    await notFound(bucket.delete("nope"));
    expect(await bucket.exists("nope")).toBe(false);
    expect(await bucket.exists("01B/meta.json")).toBe(true);
  });

  it("lists with Thanos semantics over pages of 2", async () => {
    expect(await list("")).toEqual(["01A/", "01B/", "a b+c.txt", "empty"]);
    expect(await list("01A")).toEqual(["01A/chunks/", "01A/index", "01A/meta.json"]);
    expect(await list("01A", true)).toEqual(["01A/chunks/000001", "01A/chunks/000002", "01A/index", "01A/meta.json"]);
  });

  it("uploads streams and deletes", async () => {
    await bucket.upload("01C/x", new ReadableStream<Uint8Array>({ start(c) { c.enqueue(enc.encode("ab")); c.enqueue(enc.encode("cd")); c.close(); } }));
    expect(dec.decode(await bucket.get("01C/x"))).toBe("abcd");
    await bucket.delete("01C/x");
    expect(await bucket.exists("01C/x")).toBe(false);
  });
});
