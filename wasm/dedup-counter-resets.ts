// Thanos' counter-reset handling applied to raw replicas before deduplication (downsampled and
// raw counters alike), in place over the decoded sample arrays.

/**
 * Thanos' ApplyCounterResetsSeriesIterator over each replica, in place: NaN samples (stale markers
 * included) are dropped, values become a running total that hides counter resets (a drop adds the
 * new value, otherwise the increase is added), a sample repeating the previous timestamp only
 * updates the last raw value (the downsampled-counter "true last value" convention) and samples
 * going back in time are dropped. Replicas are compacted towards bounds[0] and `bounds` is
 * rewritten. Returns the new number of samples of the k replicas together.
 */
export function applyCounterResets(inT: usize, inV: usize, bounds: usize, k: i32): i32 {
  let from = load<u32>(bounds);
  let w: u32 = from;
  for (let i = 0; i < k; i++) {
    const to = load<u32>(bounds + (<usize>(i + 1) << 2));
    store<u32>(bounds + (<usize>i << 2), w);
    let first = true;
    let lastT: f64 = 0;
    let lastV: f64 = 0;
    let total: f64 = 0;
    for (let r = from; r < to; r++) {
      const t = load<f64>(inT + (<usize>r << 3));
      const v = load<f64>(inV + (<usize>r << 3));
      if (isNaN(v)) continue;
      if (first) {
        first = false;
        total = v;
      } else if (t > lastT) {
        total += v >= lastV ? v - lastV : v;
      } else {
        if (t == lastT) lastV = v; // true last raw value before a chunk boundary
        continue;
      }
      lastT = t;
      lastV = v;
      store<f64>(inT + (<usize>w << 3), t);
      store<f64>(inV + (<usize>w << 3), total);
      w++;
    }
    from = to;
  }
  store<u32>(bounds + (<usize>k << 2), w);
  return <i32>(w - load<u32>(bounds));
}
