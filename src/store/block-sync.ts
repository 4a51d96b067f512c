/**
 * Block discovery and periodic sync of the store gateway: lists `<ULID>/` directories, treats a
 * directory without `meta.json` as a partial upload and one with `deletion-mark.json` as deleted
 * (both ignored), hides blocks whose compaction sources are all covered by another block of the
 * same stream (Thanos' DeduplicateFilter: a compacted block supersedes its sources until they are
 * deleted), loads new blocks, drops blocks that disappeared, and remembers blocks that failed
 * to load (corrupt index, unreadable meta.json) so queries can warn about them; they are retried
 * on the next sync.
 */
import type { Bucket } from "../objstore/bucket.ts";
import { isUlid, parseBlockMeta, type BlockMeta } from "../tsdb/meta.ts";
import type { BucketBlock } from "./bucket-block.ts";

/** A block that could not be loaded. `meta` is known when only the index was broken. */
export interface FailedBlock {
  readonly id: string;
  readonly meta?: BlockMeta;
  readonly error: string;
}

/** Outcome of one sync, for logs and metrics. */
export interface SyncResult {
  readonly loaded: string[];
  readonly dropped: string[];
  readonly failed: FailedBlock[];
  /** Directories without meta.json (uploads in progress or abandoned). */
  readonly partial: number;
  /** Blocks with a deletion mark. */
  readonly markedForDeletion: number;
  /** Downsampled blocks, which this store does not serve. */
  readonly downsampled: number;
  /** Blocks superseded by a compacted block holding all their sources. */
  readonly duplicates: number;
  /** Blocks served after this sync. */
  readonly total: number;
}

/** Options for {@link createBlockSyncer}. */
export interface BlockSyncOptions {
  readonly bucket: Bucket;
  /** Opens a block for serving (index-header, readers). */
  readonly load: (meta: BlockMeta) => Promise<BucketBlock>;
  /** Parallel bucket requests while listing and loading (default 20, Thanos' block-sync-concurrency). */
  readonly concurrency?: number;
}

/** Holds the current block set and refreshes it from the bucket. */
export interface BlockSyncer {
  /** Runs one sync; concurrent calls share the running one. Rejects when listing the bucket fails. */
  sync(): Promise<SyncResult>;
  /** Loaded blocks, ordered by (minTime, maxTime, id). */
  blocks(): readonly BucketBlock[];
  /** Blocks whose last load attempt failed. */
  failed(): readonly FailedBlock[];
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

/**
 * IDs of blocks whose `compaction.sources` are a subset of another block's in the same stream
 * (external labels + resolution). Of blocks with equal sources the higher compaction level, then
 * the lower ULID, is kept.
 */
export function duplicateBlocks(metas: readonly BlockMeta[]): Set<string> {
  const groups = new Map<string, BlockMeta[]>();
  for (const m of metas) {
    const labels = Object.entries(m.thanos?.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([labels, m.thanos?.downsample.resolution ?? 0]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(m);
  }
  const dups = new Set<string>();
  for (const g of groups.values()) {
    const sorted = [...g].sort((a, b) => {
      const sa = a.compaction.sources?.length ?? 1;
      const sb = b.compaction.sources?.length ?? 1;
      return sb - sa || b.compaction.level - a.compaction.level || (a.ulid < b.ulid ? -1 : 1);
    });
    const kept: Set<string>[] = [];
    for (const m of sorted) {
      const sources = m.compaction.sources?.length ? m.compaction.sources : [m.ulid];
      if (kept.some((k) => sources.every((x) => k.has(x)))) dups.add(m.ulid);
      else kept.push(new Set(sources));
    }
  }
  return dups;
}

/** Creates a syncer; nothing is loaded until the first {@link BlockSyncer.sync}. */
export function createBlockSyncer(opts: BlockSyncOptions): BlockSyncer {
  const { bucket } = opts;
  const concurrency = opts.concurrency ?? 20;
  let loaded = new Map<string, BucketBlock>();
  let sorted: BucketBlock[] = [];
  let failed: FailedBlock[] = [];
  let running: Promise<SyncResult> | undefined;

  async function syncOnce(): Promise<SyncResult> {
    const dirs: string[] = [];
    await bucket.iter("", (name) => {
      if (name.endsWith("/") && isUlid(name.slice(0, -1))) dirs.push(name.slice(0, -1));
    });
    let partial = 0;
    let marked = 0;
    let downsampled = 0;
    const wanted: string[] = [];
    // One listing per block tells both whether meta.json exists and whether it is marked.
    await forEachLimit(dirs, concurrency, async (id) => {
      let hasMeta = false;
      let hasMark = false;
      await bucket.iter(id, (n) => {
        if (n === `${id}/meta.json`) hasMeta = true;
        else if (n === `${id}/deletion-mark.json`) hasMark = true;
      });
      if (!hasMeta) partial++;
      else if (hasMark) marked++;
      else wanted.push(id);
    });
    const next = new Map<string, BucketBlock>();
    const newFailed: FailedBlock[] = [];
    const newlyLoaded: string[] = [];
    // Metas first (kept from loaded blocks), so superseded blocks are never loaded.
    const metas: BlockMeta[] = [];
    await forEachLimit(wanted, concurrency, async (id) => {
      const have = loaded.get(id);
      if (have) {
        metas.push(have.meta);
        return;
      }
      try {
        const meta = parseBlockMeta(new TextDecoder().decode(await bucket.get(`${id}/meta.json`)), `${id}/meta.json`);
        if (meta.ulid !== id) throw new Error(`${id}/meta.json: ulid ${meta.ulid} does not match the directory`);
        if ((meta.thanos?.downsample.resolution ?? 0) > 0) downsampled++;
        else metas.push(meta);
      } catch (err) {
        newFailed.push({ id, error: (err as Error).message });
      }
    });
    const dups = duplicateBlocks(metas);
    await forEachLimit(metas.filter((m) => !dups.has(m.ulid)), concurrency, async (meta) => {
      const have = loaded.get(meta.ulid);
      if (have) {
        next.set(meta.ulid, have);
        return;
      }
      try {
        next.set(meta.ulid, await opts.load(meta));
        newlyLoaded.push(meta.ulid);
      } catch (err) {
        newFailed.push({ id: meta.ulid, meta, error: (err as Error).message });
      }
    });
    const dropped = [...loaded.keys()].filter((id) => !next.has(id));
    loaded = next;
    sorted = [...next.values()].sort((a, b) => a.meta.minTime - b.meta.minTime || a.meta.maxTime - b.meta.maxTime || (a.id < b.id ? -1 : 1));
    failed = newFailed.sort((a, b) => (a.id < b.id ? -1 : 1));
    return { loaded: newlyLoaded.sort(), dropped: dropped.sort(), failed, partial, markedForDeletion: marked, downsampled, duplicates: dups.size, total: sorted.length };
  }

  return {
    sync() {
      running ??= syncOnce().finally(() => (running = undefined));
      return running;
    },
    blocks: () => sorted,
    failed: () => failed,
  };
}
