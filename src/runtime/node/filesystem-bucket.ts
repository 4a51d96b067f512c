/**
 * A bucket over a local directory (Thanos `type: FILESYSTEM`). Uploads are atomic (temp file in
 * the target directory, then rename) so a concurrent reader such as the store gateway never sees
 * a half-written meta.json or chunk file. Listing follows Thanos: sorted, directories with a
 * trailing "/", empty directories skipped.
 *
 * Range reads keep a small LRU of open file handles (with the file's size): the store gateway
 * reads index and chunk files by many small ranges, and open + fstat + close per read was ~4% of
 * its CPU. Objects are immutable once uploaded (as Thanos treats blocks; an upload replaces the
 * file by rename, i.e. a new inode), and uploads and deletes through this bucket drop the cached
 * handle, so a range read never sees stale bytes of a file this bucket rewrote.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, read as fdRead, readSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { Buffer } from "node:buffer";
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

/** An open file kept for range reads; closed once evicted and no read is using it. */
interface OpenFile {
  readonly fh: FileHandle;
  readonly size: number;
  refs: number;
  evicted: boolean;
  closed: boolean;
}

/**
 * Reads `buf.length` bytes at `position` of `fd` (fewer only at the end of the file) with the
 * callback `fs.read`: a small chunk or index range read through fs/promises' FileHandle.read cost
 * ~0.6 ms of main-thread time per store Series call in its promise and handle bookkeeping.
 */
function readFully(fd: number, buf: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const next = (err: NodeJS.ErrnoException | null, bytesRead: number): void => {
      if (err) return reject(err);
      done += bytesRead;
      if (bytesRead === 0 || done >= buf.length) return resolve(done);
      fdRead(fd, buf, done, buf.length - done, position + done, next);
    };
    if (buf.length === 0) resolve(0);
    else fdRead(fd, buf, 0, buf.length, position, next);
  });
}

/** {@link readFully} without the thread pool: for small ranges (see syncReadMaxBytes). */
function readFullySync(fd: number, buf: Uint8Array, position: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Options for {@link createFilesystemBucket}. */
export interface FilesystemBucketOptions {
  /** Open file handles kept for range reads (default 64; 0 = open and close per read). */
  readonly maxOpenFiles?: number;
  /**
   * Ranges up to this many bytes are read synchronously (pread on the cached descriptor; default
   * 64 KiB, 0 = never). A small read from the page cache takes ~1-2 µs that way, while handing it
   * to libuv's thread pool and back cost ~30-45 µs of CPU per read (thread wake-ups, the loop's
   * async wake-up), which was most of a small store Series call. Larger ranges go to the thread
   * pool, so a multi-MB chunk read neither blocks the event loop nor is copied on the main thread.
   * The price: a small range not in the page cache blocks the event loop for one disk read.
   */
  readonly syncReadMaxBytes?: number;
}

/** Creates a bucket rooted at `directory` (created on first upload if missing). */
export function createFilesystemBucket(directory: string, opts?: FilesystemBucketOptions): Bucket {
  const root = resolve(directory);
  const maxOpen = Math.max(0, opts?.maxOpenFiles ?? 64);
  const syncMax = Math.max(0, opts?.syncReadMaxBytes ?? 64 * 1024);
  // Map order is recency order: a hit re-inserts its entry; the first entry is evicted first.
  const handles = new Map<string, Promise<OpenFile>>();
  // The same entries once opened: a hit takes its reference without awaiting a promise.
  const ready = new Map<string, OpenFile>();

  const closeFile = (f: OpenFile): void => {
    if (f.closed) return;
    f.closed = true;
    void f.fh.close().catch(() => undefined);
  };
  const evict = (file: string): void => {
    const pf = handles.get(file);
    if (!pf) return;
    handles.delete(file);
    ready.delete(file);
    pf.then(
      (f) => {
        f.evicted = true;
        if (f.refs === 0) closeFile(f);
      },
      () => undefined,
    );
  };
  const openFile = async (file: string): Promise<OpenFile> => {
    const fh = await open(file, "r");
    try {
      return { fh, size: (await fh.stat()).size, refs: 0, evicted: false, closed: false };
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  };
  /** An open handle for `file` with a reference taken; pair with {@link releaseFile}. */
  const acquire = async (file: string): Promise<OpenFile> => {
    const hit = acquireReady(file);
    if (hit) return hit;
    for (;;) {
      let pf = handles.get(file);
      if (pf) {
        handles.delete(file);
        handles.set(file, pf);
      } else {
        pf = openFile(file);
        if (maxOpen === 0) {
          const f = await pf;
          f.evicted = true;
          f.refs++;
          return f;
        }
        handles.set(file, pf);
        const mine = pf;
        pf.then(
          (f) => {
            if (handles.get(file) === mine && !f.evicted) ready.set(file, f);
          },
          () => {
            if (handles.get(file) === mine) handles.delete(file);
          },
        );
        while (handles.size > maxOpen) evict(handles.keys().next().value!);
      }
      const f = await pf;
      if (f.closed) continue; // evicted and closed while we waited: open again
      f.refs++;
      return f;
    }
  };
  /** A cached, open handle for `file` with a reference taken (and its recency bumped), if any. */
  const acquireReady = (file: string): OpenFile | undefined => {
    const f = ready.get(file);
    if (!f || f.closed || f.evicted) return undefined;
    const pf = handles.get(file)!;
    handles.delete(file);
    handles.set(file, pf);
    f.refs++;
    return f;
  };
  const releaseFile = (f: OpenFile): void => {
    f.refs--;
    if (f.evicted && f.refs === 0) closeFile(f);
  };
  const name = root;
  const path = (object: string) => {
    validateObjectName(name, object);
    return join(root, ...object.split("/"));
  };
  const notFound = (object: string, err: unknown): never => {
    if (isMissing(err)) throw new ObjectNotFoundError(name, object);
    throw err;
  };
  /** {@link acquire} for a range read of `object`: a missing file is {@link ObjectNotFoundError}. */
  const acquireForRead = async (object: string): Promise<OpenFile> => {
    try {
      return await acquire(path(object));
    } catch (err) {
      return notFound(object, err);
    }
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
      const f = acquireReady(path(object)) ?? (await acquireForRead(object));
      const n = Math.max(0, Math.min(length, f.size - offset));
      // Uninitialized memory (every byte is read over or cut off) in a plain Uint8Array of its own.
      const buf = n === 0 ? new Uint8Array(0) : new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
      try {
        const done = n <= syncMax ? readFullySync(f.fh.fd, buf, offset) : await readFully(f.fh.fd, buf, offset);
        return done === n ? buf : buf.subarray(0, done);
      } finally {
        releaseFile(f);
      }
    },
    async getRangeInto(object, offset, target) {
      validateRange(name, object, offset, target.length);
      const f = acquireReady(path(object)) ?? (await acquireForRead(object));
      const n = Math.max(0, Math.min(target.length, f.size - offset));
      const buf = target.subarray(0, n);
      try {
        return n <= syncMax ? readFullySync(f.fh.fd, buf, offset) : await readFully(f.fh.fd, buf, offset);
      } finally {
        releaseFile(f);
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
      evict(target);
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
        evict(target); // a range read during the upload may have opened the old file
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    async delete(object) {
      const p = path(object);
      evict(p);
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
    async close() {
      for (const file of [...handles.keys()]) evict(file);
    },
  };
}
