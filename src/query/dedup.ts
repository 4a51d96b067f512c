/**
 * HA deduplication of decoded series for the querier, running the WASM kernels in `wasm/dedup.ts`.
 *
 * - `penalty` (Thanos' default): replicas are merged pairwise, left-deep, exactly as Thanos'
 *   `dedupSeriesIterator`: the output sticks to one replica and switches only across a gap larger
 *   than twice the last sample interval (5000 ms before the first sample). With `counter` (the
 *   querier sets it for rate/increase/irate/resets), a replica the output switches to is lifted
 *   by the amount it lags behind, so a switch never looks like a counter reset.
 * - `chain`: k-way merge by time, one sample per timestamp (Prometheus' ChainedSeriesMerge; meant
 *   for byte-identical replicas such as Receive replication, not for HA pairs).
 *
 * Inputs are copied into linear memory, outputs come back as owned arrays, so callers may pass
 * views returned by the XOR decoder and keep results across WASM calls.
 */
import type { FloatSeries } from "../model/series.ts";
import type { MeridianWasm } from "../wasm/module.ts";

/** Samples of one stream: ascending timestamps (ms) and values (raw float64 bits preserved). */
export interface SampleArrays {
  readonly t: Float64Array;
  readonly v: Float64Array;
}

/** How to deduplicate one group of replicas. */
export interface DedupOptions {
  /** `penalty` for HA pairs (Thanos default), `chain` for identical replicas. */
  readonly mode: "penalty" | "chain";
  /** Penalty mode only: counter error adjustment on replica switches (rate/increase/irate/resets). */
  readonly counter?: boolean;
  /**
   * First turn each replica into a reset-free running total and drop NaN/stale samples, as
   * Thanos' ApplyCounterResetsSeriesIterator does for COUNTER reads (rate/increase/irate/resets).
   * Hides resets from PromQL's resets(), as in Thanos.
   */
  readonly counterResets?: boolean;
  /** Keep only samples with t >= mint of each replica (Thanos bounds every replica iterator). */
  readonly mint?: number;
  /** Keep only samples with t <= maxt. */
  readonly maxt?: number;
}

/**
 * Deduplicates replicas of one series (same labels after replica-label removal) into one series
 * with the labels of the first replica. A single replica is returned as a copy, unchanged.
 */
export function dedupSeries(wasm: MeridianWasm, replicas: readonly FloatSeries[], opts: DedupOptions): FloatSeries {
  if (replicas.length === 0) throw new RangeError("dedupSeries: no replicas");
  const merged = dedupSamples(wasm, replicas, opts);
  return { labels: replicas[0]!.labels, t: merged.t, v: merged.v };
}

/** {@link dedupSeries} on bare sample arrays. */
export function dedupSamples(wasm: MeridianWasm, replicas: readonly SampleArrays[], opts: DedupOptions): SampleArrays {
  const bounded = replicas.map((r) => bound(r, opts.mint, opts.maxt));
  const resets = opts.counterResets === true;
  if (bounded.length === 1 && !resets) return { t: bounded[0]!.t.slice(), v: bounded[0]!.v.slice() };
  return runKernel(wasm, bounded, opts.mode, opts.counter === true, resets);
}

/**
 * Thanos' ApplyCounterResetsSeriesIterator on one series: drops NaN (and stale) samples and
 * returns the running total with counter resets removed (a drop adds the new value).
 */
export function applyCounterResets(wasm: MeridianWasm, samples: SampleArrays): SampleArrays {
  return runKernel(wasm, [samples], "resets-only", false, true);
}

/**
 * Merges sorted sample streams into one sorted stream with one sample per timestamp (the first
 * stream wins ties) — the k-way merge behind `chain` dedup, usable for any sorted streams.
 */
export function mergeSortedSamples(wasm: MeridianWasm, streams: readonly SampleArrays[]): SampleArrays {
  if (streams.length === 0) return { t: new Float64Array(0), v: new Float64Array(0) };
  return runKernel(wasm, streams, "chain", false, false);
}

/**
 * Deduplicates a label-sorted list of series: runs of adjacent series with equal labels (the
 * replicas, after replica labels were stripped) become one series each, as Thanos' dedupSeriesSet.
 */
export function dedupSeriesSet(
  wasm: MeridianWasm,
  sorted: readonly FloatSeries[],
  opts: DedupOptions,
  equal: (a: FloatSeries["labels"], b: FloatSeries["labels"]) => boolean,
): FloatSeries[] {
  const out: FloatSeries[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && equal(sorted[i]!.labels, sorted[j]!.labels)) j++;
    const untouched = j - i === 1 && opts.mint === undefined && opts.maxt === undefined && opts.counterResets !== true;
    out.push(untouched ? sorted[i]! : dedupSeries(wasm, sorted.slice(i, j), opts));
    i = j;
  }
  return out;
}

// First index with t[i] >= x (strict: t[i] > x) in ascending t.
function search(t: Float64Array, x: number, strict: boolean): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < x || (strict && t[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function bound(r: SampleArrays, mint: number | undefined, maxt: number | undefined): SampleArrays {
  if (r.t.length !== r.v.length) throw new RangeError(`dedup: ${r.t.length} timestamps but ${r.v.length} values`);
  if (mint === undefined && maxt === undefined) return r;
  const from = mint === undefined ? 0 : search(r.t, mint, false);
  const to = maxt === undefined ? r.t.length : search(r.t, maxt, true);
  return { t: r.t.subarray(from, Math.max(from, to)), v: r.v.subarray(from, Math.max(from, to)) };
}

function runKernel(
  wasm: MeridianWasm,
  replicas: readonly SampleArrays[],
  mode: "penalty" | "chain" | "resets-only",
  counter: boolean,
  resets: boolean,
): SampleArrays {
  // Inputs that live in linear memory (XOR decoder views) would be overwritten or detached by
  // the arena below: take owned copies first.
  const mem = wasm.memory.buffer;
  const src = replicas.map((r) => (r.t.buffer === mem || r.v.buffer === mem ? { t: r.t.slice(), v: r.v.slice() } : r));
  const k = src.length;
  const total = src.reduce((n, r) => n + r.t.length, 0);
  const stateBytes = (wasm.exports.DEDUP_STATE_BYTES.value as number) >>> 0;
  wasm.reset();
  const inT = wasm.alloc(total * 8);
  const inV = wasm.alloc(total * 8);
  const bounds = wasm.alloc((k + 1) * 4);
  const state = wasm.alloc(k * stateBytes);
  const outT = wasm.alloc(total * 8);
  const outV = wasm.alloc(total * 8);
  const tView = wasm.f64(inT, total);
  const vView = wasm.f64(inV, total);
  const bView = wasm.u32(bounds, k + 1);
  let off = 0;
  for (let i = 0; i < k; i++) {
    const r = src[i]!;
    bView[i] = off;
    tView.set(r.t, off);
    vView.set(r.v, off); // typed-array copy: bytes, so NaN payloads survive
    off += r.t.length;
  }
  bView[k] = off;
  if (resets) {
    const kept = wasm.exports.applyCounterResets(inT, inV, bounds, k);
    if (mode === "resets-only" || k === 1) return { t: wasm.f64(inT, kept).slice(), v: wasm.f64(inV, kept).slice() };
  }
  const n =
    mode === "penalty"
      ? wasm.exports.dedupPenalty(inT, inV, bounds, k, state, outT, outV, counter ? 1 : 0)
      : wasm.exports.dedupChain(inT, inV, bounds, k, state, outT, outV);
  return { t: wasm.f64(outT, n).slice(), v: wasm.f64(outV, n).slice() };
}
