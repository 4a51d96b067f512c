/**
 * Writes an in-memory block (see `writeBlock` in `src/tsdb/block-writer.ts`) into a directory the
 * way Prometheus does: files go to `<dir>/<ULID>.tmp-for-creation/` first and the directory is
 * renamed into place last, so Prometheus or a store never sees a half-written block.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { WrittenBlock } from "../../tsdb/block-writer.ts";

/**
 * Writes `block` as `<parentDir>/<ULID>/` and returns that path. `meta.json` is written last, so
 * even a reader that ignores the `.tmp-for-creation` convention never sees a block without data.
 */
export async function writeBlockDir(parentDir: string, block: WrittenBlock): Promise<string> {
  const final = join(parentDir, block.ulid);
  const tmp = `${final}.tmp-for-creation`;
  await rm(tmp, { recursive: true, force: true });
  const entries = [...block.files].sort(([a], [b]) => (a === "meta.json" ? 1 : b === "meta.json" ? -1 : a < b ? -1 : 1));
  for (const [rel, bytes] of entries) {
    const path = join(tmp, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  }
  await rename(tmp, final);
  return final;
}
