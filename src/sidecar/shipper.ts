/**
 * The shipper: uploads each block Prometheus has cut to object storage, oldest first, as Thanos'
 * `pkg/shipper` does. Per block: `chunks/*`, then `index`, then `meta.json` **last** (with the
 * `thanos` section filled), so a block directory without meta.json is an unfinished upload that
 * readers ignore; a crash or an outage midway is finished on the next run, which uploads the block
 * again from the start. Progress is kept in `<tsdb>/thanos.shipper.json` (`{"version":1,
 * "uploaded":[...]}`), written atomically. Runtime-neutral: the local file system is injected.
 */
import type { Bucket } from "../objstore/bucket.ts";
import { labelsToRecord, type Labels } from "../model/labels.ts";
import { isUlid, parseBlockMeta, serializeBlockMeta, type BlockMeta } from "../tsdb/meta.ts";
import type { BlockDurations } from "./prometheus-client.ts";

/** Name of the progress file, as Thanos' default `--shipper.meta-file-name`. */
export const SHIPPER_FILE = "thanos.shipper.json";

/** Local file access the shipper needs, relative to the TSDB directory. */
export interface ShipperFs {
  /** Names of the directories directly in the TSDB directory. */
  listDirs(): Promise<string[]>;
  /** Names of the regular files in `dir` (relative to the TSDB directory), sorted. */
  listFiles(dir: string): Promise<string[]>;
  /** Size of a file in bytes. */
  size(path: string): Promise<number>;
  /** Whole file, or undefined when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** The file as a byte stream (large chunk segments are not held in memory). */
  openStream(path: string): Promise<ReadableStream<Uint8Array>>;
  /** Replaces `path` atomically (tmp file, fsync, rename, fsync dir). */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
}

/** Options of {@link createShipper}. */
export interface ShipperOptions {
  readonly fs: ShipperFs;
  readonly bucket: Bucket;
  /** Current external labels of the Prometheus (put into each uploaded meta.json). */
  readonly externalLabels: () => Labels;
  /** Also upload compacted blocks (level > 1), `--shipper.upload-compacted`. */
  readonly uploadCompacted?: boolean;
  /** Files up to this size are read whole before upload; larger ones are streamed (default 16 MiB). */
  readonly streamThreshold?: number;
  readonly log?: (level: "info" | "warn" | "error", msg: string) => void;
  /** Clock for `upload_time` (tests). */
  readonly now?: () => Date;
}

/** What one sync did. */
export interface SyncResult {
  readonly uploaded: string[];
  readonly skipped: string[];
  readonly failed?: { readonly ulid: string; readonly error: string };
}

/** The block shipper. */
export interface Shipper {
  /** Uploads every block not uploaded yet, oldest first; stops at the first failure (order matters). */
  sync(signal?: AbortSignal): Promise<SyncResult>;
  /** ULIDs recorded as uploaded. */
  uploadedBlocks(): Promise<string[]>;
}

/**
 * Checks Prometheus' block durations as Thanos does before enabling uploads. Local compaction
 * (min ≠ max) would produce overlapping blocks in the bucket: refuse, saying what to change.
 */
export function checkBlockDurations(d: BlockDurations | undefined): { error?: string; warnings: string[] } {
  if (!d) return { warnings: ["cannot read Prometheus flags (/api/v1/status/flags); block durations not checked"] };
  const fmt = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);
  const warnings: string[] = [];
  if (d.min !== d.max) {
    return {
      error:
        `found that TSDB Max time is ${fmt(d.max)} and Min time is ${fmt(d.min)}. Compaction needs to be disabled ` +
        `(start Prometheus with --storage.tsdb.min-block-duration and --storage.tsdb.max-block-duration set to the same value, 2h recommended), ` +
        `otherwise Prometheus compacts blocks locally and the bucket gets overlapping blocks`,
      warnings,
    };
  }
  if (d.min !== 7_200_000) warnings.push(`found that TSDB block time is ${fmt(d.min)}; only 2h block time is recommended`);
  return { warnings };
}

interface ShipperState {
  version: number;
  uploaded: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Creates a shipper for one TSDB directory. */
export function createShipper(opts: ShipperOptions): Shipper {
  const { fs, bucket } = opts;
  const log = opts.log ?? (() => {});
  const threshold = opts.streamThreshold ?? 16 * 1024 * 1024;
  const now = opts.now ?? (() => new Date());

  async function readState(): Promise<ShipperState> {
    const raw = await fs.readFile(SHIPPER_FILE);
    if (!raw) return { version: 1, uploaded: [] };
    try {
      const s = JSON.parse(decoder.decode(raw)) as Partial<ShipperState>;
      if (s.version !== 1 || !Array.isArray(s.uploaded)) throw new Error(`unexpected version ${String(s.version)}`);
      return { version: 1, uploaded: s.uploaded.filter((u): u is string => typeof u === "string") };
    } catch (err) {
      // Thanos: a corrupt or foreign file means "start from scratch"; the bucket check avoids re-uploads.
      log("warn", `${SHIPPER_FILE}: ignoring unreadable progress file: ${(err as Error).message}`);
      return { version: 1, uploaded: [] };
    }
  }

  async function writeState(uploaded: string[]): Promise<void> {
    const text = JSON.stringify({ version: 1, uploaded }, null, "\t");
    await fs.writeFileAtomic(SHIPPER_FILE, encoder.encode(text));
  }

  async function localBlocks(): Promise<BlockMeta[]> {
    const metas: BlockMeta[] = [];
    for (const dir of await fs.listDirs()) {
      if (!isUlid(dir)) continue;
      const raw = await fs.readFile(`${dir}/meta.json`);
      // Prometheus renames finished blocks into place, so this is a block being deleted.
      if (!raw) continue;
      metas.push(parseBlockMeta(decoder.decode(raw), `${dir}/meta.json`));
    }
    return metas.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
  }

  async function uploadFile(ulid: string, rel: string): Promise<void> {
    const path = `${ulid}/${rel}`;
    const size = await fs.size(path);
    if (size > threshold) await bucket.upload(path, await fs.openStream(path));
    else {
      const data = await fs.readFile(path);
      if (!data) throw new Error(`${path}: file disappeared during upload`);
      await bucket.upload(path, data);
    }
  }

  async function uploadBlock(meta: BlockMeta): Promise<void> {
    const labels = opts.externalLabels();
    if (labels.length === 0) throw new Error(`block ${meta.ulid}: empty external labels, refusing to upload a block no reader could attribute`);
    const chunkNames = (await fs.listFiles(`${meta.ulid}/chunks`)).sort();
    const files: { rel_path: string; size_bytes?: number }[] = [];
    for (const name of chunkNames) files.push({ rel_path: `chunks/${name}`, size_bytes: await fs.size(`${meta.ulid}/chunks/${name}`) });
    files.push({ rel_path: "index", size_bytes: await fs.size(`${meta.ulid}/index`) });
    files.push({ rel_path: "meta.json" });
    // chunks/ first, then index, meta.json last: readers take a block as complete only with meta.json.
    for (const name of chunkNames) await uploadFile(meta.ulid, `chunks/${name}`);
    await uploadFile(meta.ulid, "index");
    const out: BlockMeta = {
      ...meta,
      thanos: {
        labels: labelsToRecord(labels),
        downsample: { resolution: 0 },
        source: "sidecar",
        segment_files: chunkNames,
        files,
        extra: { upload_time: now().toISOString() },
      },
    };
    await bucket.upload(`${meta.ulid}/meta.json`, encoder.encode(serializeBlockMeta(out)));
  }

  return {
    async uploadedBlocks() {
      return (await readState()).uploaded;
    },

    async sync(signal) {
      const state = await readState();
      const done = new Set(state.uploaded);
      const metas = await localBlocks();
      const present = new Set(metas.map((m) => m.ulid));
      const uploaded: string[] = [];
      const skipped: string[] = [];
      const kept = state.uploaded.filter((u) => present.has(u));
      let failed: SyncResult["failed"];
      for (const meta of metas) {
        if (signal?.aborted) break;
        if (done.has(meta.ulid)) continue;
        if (meta.stats.numSamples === 0) {
          skipped.push(meta.ulid);
          continue;
        }
        if (meta.compaction.level > 1 && !opts.uploadCompacted) {
          skipped.push(meta.ulid);
          continue;
        }
        try {
          if (await bucket.exists(`${meta.ulid}/meta.json`)) {
            log("info", `block ${meta.ulid} is already in the bucket; recording it as uploaded`);
          } else {
            await uploadBlock(meta);
            uploaded.push(meta.ulid);
            log("info", `uploaded block ${meta.ulid} [${meta.minTime}, ${meta.maxTime})`);
          }
        } catch (err) {
          // Stop here so blocks land in time order; the next sync retries from this block.
          failed = { ulid: meta.ulid, error: (err as Error).message };
          log("error", `upload of block ${meta.ulid} failed: ${(err as Error).message}`);
          break;
        }
        kept.push(meta.ulid);
        done.add(meta.ulid);
        await writeState(kept);
      }
      await writeState(kept);
      return failed ? { uploaded, skipped, failed } : { uploaded, skipped };
    },
  };
}
