import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { labelsFromRecord } from "../../model/labels.ts";
import { writeBlock } from "../../tsdb/block-writer.ts";
import { writeBlockDir } from "./write-block-dir.ts";

describe("writeBlockDir", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("writes every file under <ULID>/ and leaves no temporary directory", async () => {
    const parent = await mkdtemp(join(tmpdir(), "meridian-wbd-"));
    dirs.push(parent);
    const block = writeBlock([
      { labels: labelsFromRecord({ __name__: "up", job: "x" }), t: Float64Array.from([1000, 2000]), v: Float64Array.from([1, 0]) },
    ]);
    const path = await writeBlockDir(parent, block);
    expect(path).toBe(join(parent, block.ulid));
    expect(await readdir(parent)).toEqual([block.ulid]);
    expect((await readdir(path)).sort()).toEqual(["chunks", "index", "meta.json", "tombstones"]);
    for (const [rel, bytes] of block.files) {
      expect(Buffer.from(await readFile(join(path, rel))).equals(Buffer.from(bytes)), rel).toBe(true);
    }
  });
});
