/**
 * `histogram_quantile` and `histogram_fraction` over classic (bucket-series) histograms, as
 * Prometheus 3 `BucketQuantile`/`BucketFraction` in promql/quantile.go. The engine groups the
 * `_bucket` series by their labels without `le`, parses `le` as a float, and passes one group here.
 * Native histograms are not handled by these kernels.
 */

/** One classic-histogram bucket: cumulative `count` of observations `<= upperBound`. */
export interface Bucket {
  upperBound: number;
  count: number;
}

/**
 * Relative tolerance below which differences between successive bucket counts are treated as
 * floating-point noise and flattened (Prometheus' `smallDeltaTolerance`, 1e-12).
 */
export const SMALL_DELTA_TOLERANCE = 1e-12;

/** Outcome of {@link bucketQuantile}; the flags feed Prometheus' info annotation. */
export interface BucketQuantileResult {
  value: number;
  /** Counts decreased somewhere and were forced monotonic (Prometheus emits an info annotation). */
  forcedMonotonicity: boolean;
  /** Tiny (≤ 1e-12 relative) differences were flattened. */
  fixedPrecision: boolean;
  /** Lowest/highest upper bound where monotonicity was forced and the largest decrease fixed. */
  minBucket: number;
  maxBucket: number;
  maxDiff: number;
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' `util/almost.Equal` for finite non-stale inputs (NaN equals NaN). */
export function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (a !== a && b !== b) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** Sorts by upper bound (stable) and merges buckets with equal bounds by adding their counts. */
function sortAndCoalesce(buckets: Bucket[]): Bucket[] {
  const sorted = buckets.map((b) => ({ upperBound: b.upperBound, count: b.count }));
  sorted.sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  const out: Bucket[] = [];
  for (const b of sorted) {
    const last = out[out.length - 1];
    if (last && last.upperBound === b.upperBound) last.count += b.count;
    else out.push(b);
  }
  return out;
}

/**
 * φ-quantile of a classic histogram, interpolating linearly inside the bucket where rank `φ·total`
 * falls. Rules (all from Prometheus):
 * - φ NaN → NaN; φ < 0 → −Inf; φ > 1 → +Inf (checked before anything else);
 * - buckets are sorted by `le` and equal bounds merged; the highest bound must be +Inf, else NaN;
 * - successive counts within 1e-12 relative are flattened, then decreases are removed (monotonic
 *   envelope) and reported via `forcedMonotonicity`;
 * - fewer than 2 buckets or zero observations → NaN;
 * - rank in the +Inf bucket → upper bound of the second-highest bucket;
 * - rank in the first bucket with bound ≤ 0 → that bound; otherwise the first bucket starts at 0.
 * `buckets` is not modified.
 */
export function bucketQuantile(phi: number, buckets: readonly Bucket[]): BucketQuantileResult {
  const r: BucketQuantileResult = { value: NaN, forcedMonotonicity: false, fixedPrecision: false, minBucket: Infinity, maxBucket: -Infinity, maxDiff: 0 };
  if (phi !== phi) return r;
  if (phi < 0) {
    r.value = -Infinity;
    return r;
  }
  if (phi > 1) {
    r.value = Infinity;
    return r;
  }
  if (buckets.length === 0) return r;
  const bs = sortAndCoalesce(buckets as Bucket[]);
  if (bs[bs.length - 1]!.upperBound !== Infinity) return r;
  ensureMonotonic(bs, r);
  if (bs.length < 2) return r;
  const observations = bs[bs.length - 1]!.count;
  if (observations === 0) return r;
  let rank = phi * observations;
  // First bucket (excluding +Inf) whose count is >= rank; len-1 when none.
  let b = 0;
  {
    let lo = 0;
    let hi = bs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bs[mid]!.count >= rank) hi = mid;
      else lo = mid + 1;
    }
    b = lo;
  }
  if (b === bs.length - 1) {
    r.value = bs[bs.length - 2]!.upperBound;
  } else if (b === 0 && bs[0]!.upperBound <= 0) {
    r.value = bs[0]!.upperBound;
  } else {
    let bucketStart = 0;
    const bucketEnd = bs[b]!.upperBound;
    let count = bs[b]!.count;
    if (b > 0) {
      bucketStart = bs[b - 1]!.upperBound;
      count -= bs[b - 1]!.count;
      rank -= bs[b - 1]!.count;
    }
    r.value = bucketStart + (bucketEnd - bucketStart) * (rank / count);
  }
  return r;
}

function ensureMonotonic(bs: Bucket[], r: BucketQuantileResult): void {
  let prev = bs[0]!.count;
  for (let i = 1; i < bs.length; i++) {
    const curr = bs[i]!.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, SMALL_DELTA_TOLERANCE)) {
      bs[i]!.count = prev;
      r.fixedPrecision = true;
      continue;
    }
    if (curr < prev) {
      bs[i]!.count = prev;
      r.forcedMonotonicity = true;
      const ub = bs[i]!.upperBound;
      if (ub < r.minBucket) r.minBucket = ub;
      if (ub > r.maxBucket) r.maxBucket = ub;
      if (prev - curr > r.maxDiff) r.maxDiff = prev - curr;
      continue;
    }
    prev = curr;
  }
}

/**
 * `histogram_fraction(lower, upper, classic buckets)`: estimated fraction of observations in
 * `[lower, upper]`, interpolating linearly within buckets (Prometheus `BucketFraction`). NaN when
 * the +Inf bucket is missing, the total is 0, or a bound is NaN; 0 when lower ≥ upper. Infinite
 * buckets contribute nothing to interpolation. `buckets` is not modified.
 */
export function bucketFraction(lower: number, upper: number, buckets: readonly Bucket[]): number {
  if (buckets.length === 0) return NaN;
  const bs = sortAndCoalesce(buckets as Bucket[]);
  if (bs[bs.length - 1]!.upperBound !== Infinity) return NaN;
  const count = bs[bs.length - 1]!.count;
  if (count === 0 || lower !== lower || upper !== upper) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = bs[0]!.upperBound <= 0 ? -Infinity : 0;
  for (let i = 0; i < bs.length; i++) {
    const b = bs[i]!;
    if (i > 0) lowerBound = bs[i - 1]!.upperBound;
    const upperBound = b.upperBound;
    const interpolate = (x: number): number =>
      lowerBound === -Infinity ? b.count : rank + ((b.count - rank) * (x - lowerBound)) / (upperBound - lowerBound);
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
