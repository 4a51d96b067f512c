// Chain deduplication: a k-way merge by timestamp that emits one sample per distinct timestamp
// (the lowest-numbered replica wins ties), like Prometheus' ChainedSeriesMerge.

import { gT, gV, rec, setup } from "./dedup-tree-state";

/** dedupChain for two streams, state in locals (the common overlap of two blocks or replicas). */
function chainPair(inT: usize, inV: usize, bounds: usize, outT: usize, outV: usize): i32 {
  let ia = <i32>load<u32>(bounds);
  const aEnd = <i32>load<u32>(bounds, 4);
  let ib = aEnd;
  const bEnd = <i32>load<u32>(bounds, 8);
  let n = 0;
  let lastT: f64 = -Infinity;
  while (ia < aEnd || ib < bEnd) {
    const ta = ia < aEnd ? load<f64>(inT + (<usize>ia << 3)) : Infinity;
    const tb = ib < bEnd ? load<f64>(inT + (<usize>ib << 3)) : Infinity;
    const useA = ta <= tb; // ties: the first stream wins
    const idx = useA ? ia : ib;
    const t = useA ? ta : tb;
    if (useA) ia++;
    else ib++;
    if (n > 0 && t <= lastT) continue; // already emitted this timestamp
    const o = <usize>n << 3;
    store<f64>(outT + o, t);
    store<u64>(outV + o, load<u64>(inV + (<usize>idx << 3)));
    lastT = t;
    n++;
  }
  return n;
}

/**
 * Chain deduplication (k-way merge by timestamp): every distinct timestamp once, in order; on equal
 * timestamps the lowest-numbered replica's sample is kept. Inputs must be sorted by time.
 */
export function dedupChain(inT: usize, inV: usize, bounds: usize, k: i32, state: usize, outT: usize, outV: usize): i32 {
  if (k <= 0) return 0;
  if (k == 2) return chainPair(inT, inV, bounds, outT, outV);
  setup(inT, inV, bounds, k, state, 0);
  for (let i = 0; i < k; i++) store<i32>(rec(i), load<i32>(rec(i)) + 1); // idx = first sample
  let n = 0;
  let lastT: f64 = -Infinity;
  let hasLast = false;
  for (;;) {
    let best = -1;
    let bestT: f64 = Infinity;
    for (let i = 0; i < k; i++) {
      const r = rec(i);
      let idx = load<i32>(r);
      const end = load<i32>(r, 4);
      // Drop samples at the timestamp already emitted (duplicates across and within replicas).
      while (hasLast && idx < end && load<f64>(gT + (<usize>idx << 3)) <= lastT) idx++;
      store<i32>(r, idx);
      if (idx < end) {
        const t = load<f64>(gT + (<usize>idx << 3));
        if (t < bestT) {
          bestT = t;
          best = i;
        }
      }
    }
    if (best < 0) break;
    const r = rec(best);
    const idx = load<i32>(r);
    const o = <usize>n << 3;
    store<f64>(outT + o, bestT);
    store<u64>(outV + o, load<u64>(gV + (<usize>idx << 3)));
    store<i32>(r, idx + 1);
    lastT = bestT;
    hasLast = true;
    n++;
  }
  return n;
}
