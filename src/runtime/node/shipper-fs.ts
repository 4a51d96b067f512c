/**
 * The shipper's local file access on Node (and on Deno through its `node:` compatibility): the
 * Prometheus TSDB directory, with the progress file replaced atomically (tmp file, fsync, rename,
 * fsync of the directory) so a crash leaves either the old or the new progress, never half a file.
 */
import { createReadStream } from "node:fs";
import { open, readdir, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { ShipperFs } from "../../sidecar/shipper.ts";

/** Creates a {@link ShipperFs} rooted at the TSDB directory `root`. */
export function createNodeShipperFs(root: string): ShipperFs {
  const abs = (p: string) => join(root, p);
  return {
    async listDirs() {
      const entries = await readdir(root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    },
    async listFiles(dir) {
      try {
        const entries = await readdir(abs(dir), { withFileTypes: true });
        return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw err;
      }
    },
    async size(path) {
      return (await stat(abs(path))).size;
    },
    async readFile(path) {
      try {
        return new Uint8Array(await readFile(abs(path)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    async openStream(path) {
      await stat(abs(path)); // fail now (ENOENT) rather than mid-upload
      return Readable.toWeb(createReadStream(abs(path), { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
    },
    async writeFileAtomic(path, data) {
      const target = abs(path);
      const tmp = `${target}.tmp`;
      const fh = await open(tmp, "w");
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, target);
      // Persist the rename itself; not every platform allows opening a directory (ignore there).
      try {
        const dh = await open(root, "r");
        try {
          await dh.sync();
        } finally {
          await dh.close();
        }
      } catch {
        /* best effort */
      }
    },
  };
}
