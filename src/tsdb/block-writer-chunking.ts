/**
 * Where Prometheus cuts a series' samples into chunks (the head's `appendPreprocessor` in 2.42):
 * a chunk never crosses a multiple of the chunk range; after 30 samples (120/4) the end time is
 * predicted so the rest of the range splits into equally sized chunks of about 120 samples; a chunk
 * is cut early at 240 samples. Reproducing it makes Meridian's blocks byte-identical to promtool's.
 */

/** Prometheus' `samplesPerChunk` target. */
export const SAMPLES_PER_CHUNK = 120;
/** promtool's head chunk range: 2 × the default 2h block duration. */
export const DEFAULT_CHUNK_RANGE_MS = 4 * 60 * 60 * 1000;

/** How to split samples into chunks. */
export interface ChunkingOptions {
  /** "head" (default): Prometheus' head algorithm; "fixed": exactly `samplesPerChunk` per chunk. */
  mode?: "head" | "fixed";
  /** Target samples per chunk (default 120). */
  samplesPerChunk?: number;
  /** Chunks never cross a multiple of this (ms, epoch-aligned); default 4h as promtool. */
  chunkRange?: number;
}

/** Go's integer division (truncates toward zero). */
function idiv(a: number, b: number): number {
  return Math.trunc(a / b);
}

function rangeForTimestamp(t: number, width: number): number {
  return idiv(t, width) * width + width;
}

function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = idiv(max - start, (cur - start + 1) * 4);
  if (n <= 1) return max;
  return start + idiv(max - start, n);
}

/**
 * Returns the sample index at which each chunk starts (first entry 0), for ascending timestamps
 * `t`. Chunk `i` spans `[starts[i], starts[i+1])` (or to `t.length`).
 */
export function chunkBoundaries(t: ArrayLike<number>, opts: ChunkingOptions = {}): number[] {
  const spc = opts.samplesPerChunk ?? SAMPLES_PER_CHUNK;
  if (!(spc >= 1)) throw new RangeError(`samplesPerChunk must be ≥ 1, got ${spc}`);
  const starts: number[] = [];
  if (t.length === 0) return starts;
  if (opts.mode === "fixed") {
    for (let i = 0; i < t.length; i += spc) starts.push(i);
    return starts;
  }
  const range = opts.chunkRange ?? DEFAULT_CHUNK_RANGE_MS;
  if (!(range >= 1)) throw new RangeError(`chunkRange must be ≥ 1 ms, got ${range}`);
  const quarter = Math.floor(spc / 4);
  let start = 0;
  let minTime = t[0]!;
  let nextAt = rangeForTimestamp(minTime, range);
  starts.push(0);
  for (let i = 1; i < t.length; i++) {
    const ts = t[i]!;
    const n = i - start;
    if (n === quarter) nextAt = computeChunkEndTime(minTime, t[i - 1]!, nextAt);
    if (ts >= nextAt || n >= spc * 2) {
      start = i;
      minTime = ts;
      nextAt = rangeForTimestamp(ts, range);
      starts.push(i);
    }
  }
  return starts;
}
