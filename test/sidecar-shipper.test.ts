import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { labelsFromRecord } from "../src/model/labels.ts";
import type { Bucket } from "../src/objstore/bucket.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import { createFilesystemBucket } from "../src/runtime/node/filesystem-bucket.ts";
import { createNodeShipperFs } from "../src/runtime/node/shipper-fs.ts";
import { checkBlockDurations, createShipper, SHIPPER_FILE } from "../src/sidecar/shipper.ts";
import { parseBlockMeta } from "../src/tsdb/meta.ts";

const FIXTURE = "/work/shared/fixtures/blocks/prometheus-2.42-scraped";
const OLD = "01M8935ZA2E02N370CW2A8WPCX"; // minTime 1795601570716
const NEW = "01M89368HXR87AQGZF70G716T6"; // minTime 1795601580248
const ext = labelsFromRecord({ cluster: "eu", replica: "r0" });

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tsdbDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "meridian-shipper-"));
  dirs.push(dir);
  await cp(join(FIXTURE, OLD), join(dir, OLD), { recursive: true });
  await cp(join(FIXTURE, NEW), join(dir, NEW), { recursive: true });
  return dir;
}

/** Records upload order and can fail the nth upload (an S3 outage mid-block). */
function recording(inner: Bucket, failAt?: (name: string) => boolean): Bucket & { log: string[] } {
  const log: string[] = [];
  return Object.assign(Object.create(inner) as Bucket, {
    log,
    name: inner.name,
    async upload(name: string, body: Uint8Array | ReadableStream<Uint8Array>) {
      if (failAt?.(name)) throw new Error(`injected outage uploading ${name}`);
      log.push(name);
      return inner.upload(name, body);
    },
  });
}

describe("shipper", () => {
  it("uploads blocks oldest first, chunks then index then meta.json with the thanos section", async () => {
    const dir = await tsdbDir();
    const bucket = recording(createMemoryBucket());
    const shipper = createShipper({ fs: createNodeShipperFs(dir), bucket, externalLabels: () => ext, streamThreshold: 1000 });
    const res = await shipper.sync();
    expect(res).toEqual({ uploaded: [OLD, NEW], skipped: [] });
    expect(bucket.log).toEqual([`${OLD}/chunks/000001`, `${OLD}/index`, `${OLD}/meta.json`, `${NEW}/chunks/000001`, `${NEW}/index`, `${NEW}/meta.json`]);
    const meta = parseBlockMeta(new TextDecoder().decode(await bucket.get(`${OLD}/meta.json`)), "meta.json");
    expect(meta.thanos?.labels).toEqual({ cluster: "eu", replica: "r0" });
    expect(meta.thanos?.source).toBe("sidecar");
    expect(meta.thanos?.downsample.resolution).toBe(0);
    const indexSize = (await readFile(join(dir, OLD, "index"))).length;
    expect(meta.thanos?.files).toEqual([
      { rel_path: "chunks/000001", size_bytes: (await readFile(join(dir, OLD, "chunks/000001"))).length },
      { rel_path: "index", size_bytes: indexSize },
      { rel_path: "meta.json" },
    ]);
    // Bytes are identical to the local files (index was streamed: above the 1000-byte threshold).
    expect(Buffer.from(await bucket.get(`${OLD}/index`)).equals(await readFile(join(dir, OLD, "index")))).toBe(true);
    const state = JSON.parse(await readFile(join(dir, SHIPPER_FILE), "utf8"));
    expect(state).toEqual({ version: 1, uploaded: [OLD, NEW] });
    // Second run: nothing to do.
    bucket.log.length = 0;
    expect(await shipper.sync()).toEqual({ uploaded: [], skipped: [] });
    expect(bucket.log).toEqual([]);
  });

  it("never leaves a complete-looking block after an outage, and finishes it on the next run", async () => {
    const dir = await tsdbDir();
    const mem = createMemoryBucket();
    let outage = true;
    const bucket = recording(mem, (name) => outage && name === `${NEW}/index`);
    const shipper = createShipper({ fs: createNodeShipperFs(dir), bucket, externalLabels: () => ext });
    const first = await shipper.sync();
    expect(first.uploaded).toEqual([OLD]);
    expect(first.failed?.ulid).toBe(NEW);
    expect(await mem.exists(`${NEW}/chunks/000001`)).toBe(true);
    expect(await mem.exists(`${NEW}/meta.json`)).toBe(false);
    expect(await shipper.uploadedBlocks()).toEqual([OLD]);
    outage = false;
    const second = await shipper.sync();
    expect(second).toEqual({ uploaded: [NEW], skipped: [] });
    expect(await mem.exists(`${NEW}/meta.json`)).toBe(true);
  });

  it("does not re-upload blocks already in the bucket (lost progress file)", async () => {
    const dir = await tsdbDir();
    const root = await mkdtemp(join(tmpdir(), "meridian-bucket-"));
    dirs.push(root);
    const bucket = recording(createFilesystemBucket(root));
    await createShipper({ fs: createNodeShipperFs(dir), bucket, externalLabels: () => ext }).sync();
    await rm(join(dir, SHIPPER_FILE));
    bucket.log.length = 0;
    const res = await createShipper({ fs: createNodeShipperFs(dir), bucket, externalLabels: () => ext }).sync();
    expect(res.uploaded).toEqual([]);
    expect(bucket.log).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, SHIPPER_FILE), "utf8")).uploaded).toEqual([OLD, NEW]);
  });

  it("skips compacted blocks unless asked, and treats a corrupt progress file as empty", async () => {
    const dir = await tsdbDir();
    const metaPath = join(dir, NEW, "meta.json");
    const meta = JSON.parse(await readFile(metaPath, "utf8"));
    meta.compaction.level = 2;
    await writeFile(metaPath, JSON.stringify(meta));
    await writeFile(join(dir, SHIPPER_FILE), "{not json");
    const bucket = createMemoryBucket();
    const res = await createShipper({ fs: createNodeShipperFs(dir), bucket, externalLabels: () => ext }).sync();
    expect(res).toEqual({ uploaded: [OLD], skipped: [NEW] });
    const res2 = await createShipper({ fs: createNodeShipperFs(dir), bucket, externalLabels: () => ext, uploadCompacted: true }).sync();
    expect(res2).toEqual({ uploaded: [NEW], skipped: [] });
  });

  it("refuses to upload without external labels", async () => {
    const dir = await tsdbDir();
    const bucket = createMemoryBucket();
    const res = await createShipper({ fs: createNodeShipperFs(dir), bucket, externalLabels: () => [] }).sync();
    expect(res.failed?.error).toMatch(/empty external labels/);
    expect(await bucket.exists(`${OLD}/meta.json`)).toBe(false);
  });
});

describe("checkBlockDurations", () => {
  it("refuses unequal durations with a message naming both flags, warns on non-2h", () => {
    expect(checkBlockDurations({ min: 7_200_000, max: 7_200_000 })).toEqual({ warnings: [] });
    const bad = checkBlockDurations({ min: 7_200_000, max: 129_600_000 });
    expect(bad.error).toMatch(/--storage.tsdb.min-block-duration and --storage.tsdb.max-block-duration/);
    expect(bad.error).toMatch(/Max time is 36h and Min time is 2h/);
    expect(checkBlockDurations({ min: 60_000, max: 60_000 }).warnings[0]).toMatch(/1m; only 2h/);
  });
});
