/**
 * Decode + deduplicate a whole Series response in two WASM calls: every XOR chunk of every replica
 * of every series is decoded in one batch, and the decoded arrays are deduplicated where they lie
 * in linear memory, series by series, in a second call. Compared with decoding to JS arrays and
 * calling {@link dedupSeries} per series this saves two copies of every sample and one WASM call
 * per series, which is most of the querier's per-series overhead.
 */
import type { MeridianWasm } from "../wasm/module.ts";
import { decodeXorChunks, decodeXorSeriesBatch, xorChunkSampleCount, XorChunkError, xorErrorReason } from "../wasm/xor.ts";
import { dedupSamples, type DedupOptions, type SampleArrays } from "./dedup.ts";

/** The replicas of one series, each as its XOR chunks in time order. */
export type ReplicaChunks = readonly (readonly Uint8Array[])[];

/**
 * Decodes and deduplicates `series` (one entry per output series; each with ≥ 0 replicas whose
 * chunks do not overlap within the replica). `opts.mint`/`maxt` bound every replica, as Thanos'
 * bounded iterators do. Returns owned arrays, one per series, in order. Throws `XorChunkError`
 * (its chunk index counts chunks across all series and replicas, in order) on corrupt chunks.
 */
export function decodeDedupXorSeries(wasm: MeridianWasm, series: readonly ReplicaChunks[], opts: DedupOptions): SampleArrays[] {
  const flat: Uint8Array[] = [];
  let replicas = 0;
  let maxK = 0;
  for (const reps of series) {
    replicas += reps.length;
    if (reps.length > maxK) maxK = reps.length;
    for (const chunks of reps) for (const c of chunks) flat.push(c);
  }
  const decoded = decodeXorChunks(wasm, flat, { mint: opts.mint, maxt: opts.maxt });
  const starts = decoded.starts;
  // Replica r spans samples [bound(r), bound(r+1)): the start of its first chunk.
  const replicaStart = new Uint32Array(replicas + 1);
  let ci = 0;
  let ri = 0;
  for (const reps of series) {
    for (const chunks of reps) {
      replicaStart[ri++] = starts[ci]!;
      for (let j = 1; j < chunks.length; j++) {
        const s = starts[ci + j]!;
        // Overlapping chunks inside a replica need the slower path that drops them.
        if (s > starts[ci]! && s < starts[ci + chunks.length]! && !(decoded.t[s]! > decoded.t[s - 1]!)) {
          return slowPath(wasm, series, opts);
        }
      }
      ci += chunks.length;
    }
  }
  replicaStart[replicas] = starts[ci]!;

  const tPtr = decoded.t.byteOffset;
  const vPtr = decoded.v.byteOffset;
  const total = decoded.total;
  const g = series.length;
  const stateBytes = (wasm.exports.DEDUP_STATE_BYTES.value as number) >>> 0;
  // Continue the arena after the decoder's regions (no reset: they hold the input).
  const bounds = wasm.alloc((replicas + g) * 4);
  const groups = wasm.alloc(g * 8);
  const state = wasm.alloc(Math.max(1, maxK) * stateBytes);
  const outT = wasm.alloc(total * 8);
  const outV = wasm.alloc(total * 8);
  const outCounts = wasm.alloc(g * 4);
  const bView = wasm.u32(bounds, replicas + g);
  const gView = wasm.u32(groups, g * 2);
  let b = 0;
  ri = 0;
  for (let i = 0; i < g; i++) {
    const k = series[i]!.length;
    gView[2 * i] = b;
    gView[2 * i + 1] = k;
    for (let j = 0; j <= k; j++) bView[b + j] = replicaStart[ri + j]!;
    b += k + 1;
    ri += k;
  }
  const n = wasm.exports.dedupGroups(
    tPtr, vPtr, bounds, groups, g, state, outT, outV, outCounts,
    opts.mode === "chain" ? 1 : 0, opts.counter === true ? 1 : 0, opts.counterResets === true ? 1 : 0,
  );
  return copyOut(wasm.u32(outCounts, g), wasm.f64(outT, n), wasm.f64(outV, n));
}

/** Average samples per series below which results are views into one copy (see {@link copyOut}). */
const SHARED_COPY_MAX_AVG = 64;

/**
 * The per-series results out of WASM memory (reused by the next call). Short series (instant
 * queries: ~20 samples each) get ONE copy of all times and one of all values, each series a view
 * into them: a copy per series costs an ArrayBuffer allocation each, two per series (~0.9 ms per
 * 1000 series against ~0.1 ms for views, allocation and GC included). Long series (range queries)
 * keep a copy each, where the copying dominates and each can be freed on its own.
 */
function copyOut(counts: Uint32Array, t: Float64Array, v: Float64Array): SampleArrays[] {
  const shared = t.length < SHARED_COPY_MAX_AVG * counts.length;
  const allT = shared ? t.slice() : t;
  const allV = shared ? v.slice() : v;
  const out: SampleArrays[] = [];
  let off = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    out.push(shared
      ? { t: allT.subarray(off, off + c), v: allV.subarray(off, off + c) }
      : { t: allT.slice(off, off + c), v: allV.slice(off, off + c) });
    off += c;
  }
  return out;
}

// Replicas with overlapping chunks: decode per replica (dropping overlaps), then dedup.
function slowPath(wasm: MeridianWasm, series: readonly ReplicaChunks[], opts: DedupOptions): SampleArrays[] {
  const decoded = decodeXorSeriesBatch(wasm, series.flat(), { mint: opts.mint, maxt: opts.maxt });
  const out: SampleArrays[] = [];
  let k = 0;
  for (const reps of series) {
    const mine = decoded.slice(k, k + reps.length);
    k += reps.length;
    out.push(mine.length === 0 ? { t: new Float64Array(0), v: new Float64Array(0) } : dedupSamples(wasm, mine, { ...opts, mint: undefined, maxt: undefined }));
  }
  return out;
}

/** One replica run of a series: its XOR chunks in time order with their first/last sample times (ms). */
export interface TimedRun {
  readonly chunks: readonly Uint8Array[];
  readonly minT: readonly number[];
  readonly maxT: readonly number[];
}

/**
 * Penalty deduplication of series with at most two replica runs each, decoding chunks only where
 * the deduplication needs their samples (`wasm/dedup-lazy.ts`): while the output follows one
 * replica, the other replica's chunks are skipped by their times instead of being decoded. Output
 * is identical to {@link decodeDedupXorSeries} with `mode: "penalty"`. Returns undefined when a
 * decoded chunk disagrees with its times or a replica's chunks overlap: the caller then takes
 * {@link decodeDedupXorSeries}. Throws `XorChunkError` on a corrupt chunk that had to be decoded
 * (chunks are numbered across all series and runs, in order); chunks never decoded are not checked.
 */
export function decodeDedupXorPairsLazy(
  wasm: MeridianWasm, series: readonly (readonly TimedRun[])[], opts: { readonly counter?: boolean; readonly mint?: number; readonly maxt?: number },
): SampleArrays[] | undefined {
  let n = 0;
  let bytes = 0;
  let cap = 0;
  let longest = 0;
  let widest = 0;
  for (const runs of series) {
    if (runs.length > 2) throw new RangeError("decodeDedupXorPairsLazy: more than two replica runs");
    for (const run of runs) {
      for (const c of run.chunks) {
        n++;
        bytes += c.length;
        const k = xorChunkSampleCount(c);
        cap += k;
        if (k > widest) widest = k;
        if (c.length > longest) longest = c.length;
      }
    }
  }
  const g = series.length;
  const padding = (wasm.exports.XOR_PADDING.value as number) >>> 0;
  const stateBytes = (wasm.exports.LAZY_STATE_BYTES.value as number) >>> 0;
  wasm.reset();
  const input = wasm.alloc(bytes + padding);
  const workCap = ((longest + 15) & ~15) + padding;
  const work = wasm.alloc(workCap);
  const table = wasm.alloc(n * 8);
  const times = wasm.alloc(n * 16);
  const groups = wasm.alloc(g * 16);
  const scratchCap = Math.max(1, widest);
  const scratch = wasm.alloc(4 * scratchCap * 8);
  const state = wasm.alloc(stateBytes);
  const outT = wasm.alloc(cap * 8);
  const outV = wasm.alloc(cap * 8);
  const outCounts = wasm.alloc(g * 4);
  const err = wasm.alloc(16);
  // Views only after the last alloc: a grow detaches earlier views.
  const mem = wasm.u8(input, bytes + padding);
  const tab = wasm.u32(table, n * 2);
  const tim = wasm.f64(times, n * 2);
  const grp = wasm.u32(groups, g * 4);
  let off = 0;
  let ci = 0;
  for (let s = 0; s < g; s++) {
    const runs = series[s]!;
    for (let r = 0; r < 2; r++) {
      const run = runs[r];
      grp[4 * s + 2 * r] = ci;
      grp[4 * s + 2 * r + 1] = run ? run.chunks.length : 0;
      if (!run) continue;
      for (let k = 0; k < run.chunks.length; k++) {
        const c = run.chunks[k]!;
        // Chunks are skipped by their times: they must be the chunk's own (its first timestamp is
        // in its header). A store that sends other times gets the decode-everything path.
        if (c.length > 2 && firstTimestamp(c) !== run.minT[k]) return undefined;
        mem.set(c, off);
        tab[2 * ci] = off;
        tab[2 * ci + 1] = c.length;
        tim[2 * ci] = run.minT[k]!;
        tim[2 * ci + 1] = run.maxT[k]!;
        off += c.length;
        ci++;
      }
    }
  }
  mem.fill(0, bytes);
  const total = wasm.exports.dedupLazyPairs(
    input, bytes, table, times, groups, g, work, workCap, scratch, scratchCap, state,
    outT, outV, outCounts, opts.mint ?? -Infinity, opts.maxt ?? Infinity, opts.counter === true ? 1 : 0, err,
  );
  if (total === -2) return undefined;
  if (total < 0) {
    const e = wasm.u32(err, 4);
    throw new XorChunkError(e[1]!, e[2]!, e[3]!, xorErrorReason(e[0]!));
  }
  return copyOut(wasm.u32(outCounts, g), wasm.f64(outT, total), wasm.f64(outV, total));
}

/** The first timestamp of an XOR chunk: the zig-zag varint after its 2-byte count (NaN if malformed). */
function firstTimestamp(c: Uint8Array): number {
  let u = 0;
  let scale = 1;
  for (let i = 2; i < c.length && i < 12; i++) {
    const b = c[i]!;
    u += (b & 0x7f) * scale;
    if (b < 0x80) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    scale *= 128;
  }
  return NaN;
}

