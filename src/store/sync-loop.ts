/**
 * The store gateway's block sync schedule, shared by every runtime entry: retry with backoff until
 * the first sync succeeds (Thanos' initial sync), then sync every `--sync-block-duration`; drop the
 * cached index-headers of blocks that left the bucket.
 */
import type { Bucket } from "../objstore/bucket.ts";
import type { BucketStore } from "./bucket-store.ts";

/** Options of {@link startSyncLoop}. */
export interface SyncLoopOptions {
  readonly store: BucketStore;
  /** Where index-headers are cached (`<ULID>/index-header`), if anywhere. */
  readonly headerCache?: Bucket;
  /** Period between syncs once the store is ready, ms. */
  readonly intervalMs: number;
  readonly log: (level: "info" | "error", msg: string) => void;
}

/** Starts syncing now; the returned function stops the loop. */
export function startSyncLoop(opts: SyncLoopOptions): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  const loop = async (): Promise<void> => {
    let ok = false;
    try {
      const r = await opts.store.sync();
      if (opts.headerCache) for (const id of r.dropped) await opts.headerCache.delete(`${id}/index-header`).catch(() => undefined);
      opts.log("info", `synced blocks: ${r.total} served, ${r.loaded.length} new, ${r.dropped.length} dropped, ${r.failed.length} failed, ${r.partial} partial, ${r.markedForDeletion} marked for deletion`);
      ok = true;
    } catch (err) {
      opts.log("error", `block sync failed: ${(err as Error).message}`);
    }
    if (stopped) return;
    const next = !opts.store.ready() && !ok ? Math.min(30_000, 500 * 2 ** Math.min(++attempt, 6)) : opts.intervalMs;
    timer = setTimeout(() => void loop(), next);
  };
  void loop();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
