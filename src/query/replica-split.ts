/**
 * Splits the chunks of one merged series into non-overlapping runs, one per replica, as Thanos'
 * overlap splitter does before deduplication: once stores have stripped the replica labels, both
 * HA replicas' chunks arrive as one series, and overlapping chunks can only come from different
 * replicas (or overlapping blocks of one replica, which dedup treats the same way).
 */

/** The time span of a chunk as the splitter needs it. */
export interface TimedChunk {
  readonly minTime: number;
  readonly maxTime: number;
}

/**
 * Groups chunks (any order) into runs where each run's chunks are time-ordered and do not overlap.
 * A chunk joins the first run whose last chunk ends before it starts; otherwise it opens a new run.
 * One run means nothing to deduplicate.
 */
export function splitReplicaRuns<C extends TimedChunk>(chunks: readonly C[]): C[][] {
  const sorted = [...chunks].sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  const runs: C[][] = [];
  for (const c of sorted) {
    let placed = false;
    for (const run of runs) {
      if (run[run.length - 1]!.maxTime < c.minTime) {
        run.push(c);
        placed = true;
        break;
      }
    }
    if (!placed) runs.push([c]);
  }
  return runs;
}
