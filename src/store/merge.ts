/**
 * K-way merge of per-block series streams (each sorted by labels) into one sorted stream, merging
 * series with equal labels (the same series in overlapping blocks, or series that became equal
 * after replica labels were stripped) and dropping chunks sent twice (same range and hash), as
 * Thanos' responseDeduplicator does. Each input is prefetched one batch ahead so block reads
 * overlap.
 */
import { compareLabels, labelsEqual } from "../model/labels.ts";
import { chunkTableOf, seriesChunks, type ChunkRun, type StoreChunk, type StoreSeries } from "./chunk-table.ts";

/** A sorted input: batches of series in label order. */
export type SeriesBatches = AsyncIterator<StoreSeries[]>;

interface Cursor {
  readonly it: SeriesBatches;
  batch: StoreSeries[];
  pos: number;
  next: Promise<IteratorResult<StoreSeries[]>> | undefined;
  readonly order: number;
}

/** Pulls the next non-empty batch; false when the input is exhausted. Starts the following fetch. */
async function advance(c: Cursor): Promise<boolean> {
  for (;;) {
    const r = await (c.next ?? c.it.next());
    c.next = undefined;
    if (r.done) return false;
    c.next = c.it.next();
    // Do not leave a rejected prefetch unobserved; the error surfaces when it is awaited.
    c.next.catch(() => undefined);
    if (r.value.length > 0) {
      c.batch = r.value;
      c.pos = 0;
      return true;
    }
  }
}

function head(c: Cursor): StoreSeries {
  return c.batch[c.pos]!;
}

function less(a: Cursor, b: Cursor): boolean {
  const d = compareLabels(head(a).labels, head(b).labels);
  return d < 0 || (d === 0 && a.order < b.order);
}

/** Min-heap helpers over cursors. */
function siftDown(h: Cursor[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && less(h[l]!, h[m]!)) m = l;
    if (r < h.length && less(h[r]!, h[m]!)) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m]!, h[i]!];
    i = m;
  }
}

/** Sorts chunks by time and drops exact duplicates (same min/max time and hash). */
export function mergeChunks(chunks: StoreChunk[]): StoreChunk[] {
  chunks.sort((a, b) => a.mint - b.mint || a.maxt - b.maxt || a.hashHi - b.hashHi || a.hashLo - b.hashLo);
  const out: StoreChunk[] = [];
  for (const c of chunks) {
    const last = out[out.length - 1];
    if (last && last.mint === c.mint && last.maxt === c.maxt && last.hashLo === c.hashLo && last.hashHi === c.hashHi && last.data.length === c.data.length) continue;
    out.push(c);
  }
  return out;
}

/**
 * The chunk runs of one series gathered from several blocks, in time order. Blocks usually cover
 * disjoint time ranges: the runs are then only ordered by their first chunk. Runs that overlap
 * (overlapping blocks, the same chunk in two blocks) are merged chunk by chunk with exact
 * duplicates dropped, into a fresh table.
 */
export function mergeRuns(runs: ChunkRun[]): ChunkRun[] {
  // Usual case: the blocks came in time order already; nothing to sort or copy.
  let ordered = true;
  for (let i = 0; i < runs.length && ordered; i++) {
    const r = runs[i]!;
    if (r.to <= r.from) ordered = false;
    else if (i > 0) {
      const p = runs[i - 1]!;
      if (r.table.mint[r.from]! <= p.table.maxt[p.to - 1]!) ordered = false;
    }
  }
  if (ordered) return runs;
  const live = runs.filter((r) => r.to > r.from);
  live.sort((a, b) => a.table.mint[a.from]! - b.table.mint[b.from]!);
  let disjoint = true;
  for (let i = 1; i < live.length && disjoint; i++) {
    const p = live[i - 1]!;
    if (live[i]!.table.mint[live[i]!.from]! <= p.table.maxt[p.to - 1]!) disjoint = false;
  }
  if (disjoint) return live;
  const chunks = mergeChunks(seriesChunks({ labels: [], runs: live }));
  return [{ table: chunkTableOf(chunks), from: 0, to: chunks.length }];
}

/**
 * Merges sorted inputs. Yields each distinct label set once, with the chunks of every input that
 * had it. Closing the returned generator early closes all inputs.
 */
export async function* mergeSeries(inputs: readonly SeriesBatches[]): AsyncGenerator<StoreSeries> {
  const cursors: Cursor[] = inputs.map((it, order) => ({ it, batch: [], pos: 0, next: undefined, order }));
  try {
    const alive = await Promise.all(cursors.map(advance));
    const heap = cursors.filter((_, i) => alive[i]);
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
    let current: StoreSeries | undefined;
    let runs: ChunkRun[] = [];
    let merged = false;
    while (heap.length > 0) {
      const top = heap[0]!;
      const s = head(top);
      top.pos++;
      if (top.pos >= top.batch.length && !(await advance(top))) {
        const last = heap.pop()!;
        if (heap.length > 0 && last !== top) {
          heap[0] = last;
          siftDown(heap, 0);
        }
      } else {
        siftDown(heap, 0);
      }
      if (current && labelsEqual(current.labels, s.labels)) {
        if (!merged) runs = [...current.runs];
        merged = true;
        for (const r of s.runs) runs.push(r);
        continue;
      }
      if (current) yield merged ? { labels: current.labels, runs: mergeRuns(runs) } : current;
      current = s;
      merged = false;
    }
    if (current) yield merged ? { labels: current.labels, runs: mergeRuns(runs) } : current;
  } finally {
    await Promise.all(cursors.map(async (c) => {
      await c.next?.catch(() => undefined);
      await c.it.return?.();
    }));
  }
}
