/**
 * A bucket over a local directory (Thanos `type: FILESYSTEM`). Uploads are atomic (temp file in
 * the target directory, then rename) so a concurrent reader such as the store gateway never sees
 * a half-written meta.json or chunk file. Listing follows Thanos: sorted, directories with a
 * trailing "/", empty directories skipped.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import {
  compareKeys,
  normalizeDir,
  ObjectNotFoundError,
  validateObjectName,
  validateRange,
  type Bucket,
} from "../../objstore/bucket.ts";

/** Temp files carry this prefix; listings skip them. */
const TMP_PREFIX = ".meridian-upload-";

function isMissing(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** Creates a bucket rooted at `directory` (created on first upload if missing). */
export function createFilesystemBucket(directory: string): Bucket {
  const root = resolve(directory);
  const name = root;
  const path = (object: string) => {
    validateObjectName(name, object);
    return join(root, ...object.split("/"));
  };
  const notFound = (object: string, err: unknown): never => {
    if (isMissing(err)) throw new ObjectNotFoundError(name, object);
    throw err;
  };

  async function listDir(rel: string): Promise<{ name: string; dir: boolean }[]> {
    let entries;
    try {
      entries = await readdir(rel === "" ? root : join(root, ...rel.slice(0, -1).split("/")), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const out: { name: string; dir: boolean }[] = [];
    for (const e of entries) {
      if (e.name.startsWith(TMP_PREFIX)) continue;
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) isDir = (await stat(join(root, rel, e.name)).catch(() => undefined))?.isDirectory() ?? false;
      out.push({ name: e.name, dir: isDir });
    }
    return out;
  }

  /** Lists files below `rel` (a normalized dir) recursively; true when any file was found. */
  async function walk(rel: string, out: string[]): Promise<boolean> {
    let found = false;
    for (const e of await listDir(rel)) {
      if (e.dir) found = (await walk(`${rel}${e.name}/`, out)) || found;
      else {
        out.push(rel + e.name);
        found = true;
      }
    }
    return found;
  }

  return {
    name,
    async get(object) {
      try {
        return new Uint8Array(await readFile(path(object)));
      } catch (err) {
        return notFound(object, err);
      }
    },
    async getRange(object, offset, length) {
      validateRange(name, object, offset, length);
      let fh;
      try {
        fh = await open(path(object), "r");
      } catch (err) {
        return notFound(object, err);
      }
      try {
        const size = (await fh.stat()).size;
        const n = Math.max(0, Math.min(length, size - offset));
        const buf = new Uint8Array(n);
        let done = 0;
        while (done < n) {
          const { bytesRead } = await fh.read(buf, done, n - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        return done === n ? buf : buf.subarray(0, done);
      } finally {
        await fh.close();
      }
    },
    async exists(object) {
      try {
        return (await stat(path(object))).isFile();
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },
    async iter(dir, fn, opts) {
      const rel = normalizeDir(dir);
      const names: string[] = [];
      if (opts?.recursive) {
        await walk(rel, names);
      } else {
        for (const e of await listDir(rel)) {
          if (!e.dir) names.push(rel + e.name);
          else if (await walk(`${rel}${e.name}/`, [])) names.push(`${rel}${e.name}/`); // skip empty dirs, as Thanos
        }
      }
      names.sort(compareKeys);
      for (const n of names) await fn(n);
    },
    async upload(object, body) {
      const target = path(object);
      await mkdir(dirname(target), { recursive: true });
      const tmp = join(dirname(target), `${TMP_PREFIX}${randomBytes(6).toString("hex")}`);
      try {
        if (body instanceof Uint8Array) {
          const fh = await open(tmp, "w");
          try {
            await fh.writeFile(body);
            await fh.sync();
          } finally {
            await fh.close();
          }
        } else {
          await pipeline(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), createWriteStream(tmp));
        }
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    async delete(object) {
      const p = path(object);
      try {
        await unlink(p);
      } catch (err) {
        notFound(object, err);
      }
      // Remove parent directories left empty, up to the root, as Thanos' filesystem bucket does.
      let dir = dirname(p);
      while (dir.startsWith(root + sep)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
        dir = dirname(dir);
      }
    },
    async attributes(object) {
      try {
        const st = await stat(path(object));
        if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
        return { size: st.size, lastModified: st.mtime };
      } catch (err) {
        return notFound(object, err);
      }
    },
    async close() {},
  };
}
