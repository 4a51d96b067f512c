// HA replica deduplication kernels for the querier, over decoded sample arrays.
//
// Penalty mode reproduces Thanos' `pkg/dedup/iter.go` exactly: a left-deep chain of pairwise
// iterators pair(pair(pair(r0, r1), r2), r3)... where each pair picks the replica with the earlier
// next sample, but seeks the replica it did not pick to at least lastT + 1 + penalty (penalty =
// 5000 ms before any sample, then 2 × the last gap), so it sticks to one replica and only switches
// when that replica has a gap. In counter mode each replica carries an error adjustment that lifts
// its values when the output switches to it with a lower value (no spurious counter reset).
// The iterator tree is kept as explicit state in linear memory so that the recursion (adjustments
// propagate through inner pairs, inner pairs are advanced through Next, never skipped) follows
// the Go code step by step.
//
// Chain mode is a k-way merge by timestamp that emits one sample per distinct timestamp (the
// lowest-numbered replica wins ties), like Prometheus' ChainedSeriesMerge.
//
// Layout (all prepared by JS in the scratch arena):
// - inT (f64 ms) and inV (f64, raw bits) hold every replica's samples back to back;
// - bounds: k + 1 u32, replica i spans [bounds[i], bounds[i+1]);
// - state: DEDUP_STATE_BYTES per replica;
// - outT/outV: room for the sum of all replica lengths.

/** Initial penalty (ms) before any sample was emitted; timestamps are ms, scrapes seconds apart. */
export const DEDUP_INITIAL_PENALTY: f64 = 5000;

/** Bytes of iterator state the kernels need per replica. */
export const DEDUP_STATE_BYTES: u32 = 64;

// Leaf (replica iterator) state at leaf(i): idx i32 @0, end i32 @4, errAdjust f64 @8.
// Pair node state at pair(j), j = 1..k-1: aval u8 @16, bval u8 @17, useA u8 @18, lastIterA u8 @19,
// lastT f64 @24, penA f64 @32, penB f64 @40. Both live in the same 64-byte record per index.
let gT: usize = 0;
let gV: usize = 0;
let gState: usize = 0;
let gK: i32 = 0;
let gCounter: bool = false;

// @ts-ignore: decorator
@inline function rec(i: i32): usize {
  return gState + (<usize>i << 6);
}

// Node ids: 0..k-1 are leaves (replicas); k + j - 1 is pair j (children: a = pair j-1, or leaf 0
// for j = 1; b = leaf j).
// @ts-ignore: decorator
@inline function isLeaf(id: i32): bool {
  return id < gK;
}
// @ts-ignore: decorator
@inline function pairA(j: i32): i32 {
  return j == 1 ? 0 : gK + j - 2;
}

// ---- leaves ----

function leafNext(i: i32): bool {
  const r = rec(i);
  const idx = load<i32>(r) + 1;
  const end = load<i32>(r, 4);
  store<i32>(r, idx < end ? idx : end);
  return idx < end;
}

function leafSeek(i: i32, t: f64): bool {
  // Forward only; a no-op when the current sample is already at or after t.
  const r = rec(i);
  let idx = load<i32>(r);
  const end = load<i32>(r, 4);
  while (idx < end && load<f64>(gT + (<usize>idx << 3)) < t) idx++;
  store<i32>(r, idx);
  return idx < end;
}

function leafAtT(i: i32): f64 {
  const r = rec(i);
  const idx = load<i32>(r);
  return idx < load<i32>(r, 4) ? load<f64>(gT + (<usize>idx << 3)) : Infinity;
}

function leafAtBits(i: i32): u64 {
  const r = rec(i);
  const idx = load<i32>(r);
  if (idx >= load<i32>(r, 4)) return 0;
  const bits = load<u64>(gV + (<usize>idx << 3));
  const adj = load<f64>(r, 8);
  // Without an adjustment keep the raw bits (NaN payloads, -0) untouched.
  return adj == 0 ? bits : reinterpret<u64>(reinterpret<f64>(bits) + adj);
}

function leafAdjust(i: i32, last: f64): void {
  if (!gCounter) return;
  const v = reinterpret<f64>(leafAtBits(i));
  if (last > v) {
    // This replica missed the end of the counter before a restart: lift it to the last value.
    const r = rec(i);
    store<f64>(r, load<f64>(r, 8) + (last - v), 8);
  }
}

// ---- generic node dispatch ----

function nodeNext(id: i32): bool {
  return isLeaf(id) ? leafNext(id) : pairNext(id - gK + 1);
}

function nodeSeek(id: i32, t: f64): bool {
  return isLeaf(id) ? leafSeek(id, t) : pairSeek(id - gK + 1, t);
}

function nodeAtT(id: i32): f64 {
  // AtT of a pair reads the child selected by useA.
  if (isLeaf(id)) return leafAtT(id);
  const j = id - gK + 1;
  return load<u8>(rec(j), 18) != 0 ? nodeAtT(pairA(j)) : leafAtT(j); // b = leaf j
}

// At() of a pair delegates to lastIter: returns the id of the leaf whose sample is current.
function nodeAtLeaf(id: i32): i32 {
  while (!isLeaf(id)) {
    const j = id - gK + 1;
    id = load<u8>(rec(j), 19) != 0 ? pairA(j) : j;
  }
  return id;
}

function nodeAdjust(id: i32, last: f64): void {
  if (isLeaf(id)) {
    leafAdjust(id, last);
    return;
  }
  const j = id - gK + 1;
  const r = rec(j);
  if (load<u8>(r, 16) != 0) nodeAdjust(pairA(j), last);
  if (load<u8>(r, 17) != 0) nodeAdjust(j, last);
}

// ---- pairs ----

function pairInit(j: i32): void {
  const r = rec(j);
  store<u8>(r, <u8>nodeNext(pairA(j)), 16);
  store<u8>(r, <u8>nodeNext(j), 17);
  store<u8>(r, 1, 18);
  store<u8>(r, 1, 19);
  store<f64>(r, -Infinity, 24);
  store<f64>(r, 0, 32);
  store<f64>(r, 0, 40);
}

function pairNext(j: i32): bool {
  const r = rec(j);
  const a = pairA(j);
  const b = j;
  let aval = load<u8>(r, 16) != 0;
  let bval = load<u8>(r, 17) != 0;
  const prevUseA = load<u8>(r, 18) != 0;
  // The value emitted last (through lastIter), needed if this step switches replicas.
  const hadFloat = prevUseA ? aval : bval;
  const lastVal = hadFloat ? reinterpret<f64>(leafAtBits(nodeAtLeaf(load<u8>(r, 19) != 0 ? a : b))) : 0;
  let lastT = load<f64>(r, 24);
  let penA = load<f64>(r, 32);
  let penB = load<f64>(r, 40);

  if (aval) aval = nodeSeek(a, lastT + 1 + penA);
  if (bval) bval = nodeSeek(b, lastT + 1 + penB);
  let useA: bool;
  let lastIterA = load<u8>(r, 19) != 0;
  let result: bool;
  if (!aval) {
    useA = false;
    if (bval) {
      lastT = nodeAtT(b);
      lastIterA = false;
      penB = 0;
    }
    result = bval;
  } else if (!bval) {
    useA = true;
    lastT = nodeAtT(a);
    lastIterA = true;
    penA = 0;
    result = true;
  } else {
    const ta = nodeAtT(a);
    const tb = nodeAtT(b);
    useA = ta <= tb; // ties go to a
    if (useA) {
      penB = lastT != -Infinity ? 2 * (ta - lastT) : DEDUP_INITIAL_PENALTY;
      penA = 0;
      lastT = ta;
      lastIterA = true;
    } else {
      penA = lastT != -Infinity ? 2 * (tb - lastT) : DEDUP_INITIAL_PENALTY;
      penB = 0;
      lastT = tb;
      lastIterA = false;
    }
    result = true;
  }
  store<u8>(r, <u8>aval, 16);
  store<u8>(r, <u8>bval, 17);
  store<u8>(r, <u8>useA, 18);
  store<u8>(r, <u8>lastIterA, 19);
  store<f64>(r, lastT, 24);
  store<f64>(r, penA, 32);
  store<f64>(r, penB, 40);
  // Deferred step of the Go code: after a switch, adjust both children to the last value.
  if (useA != prevUseA && hadFloat) nodeAdjust(k2id(j), lastVal);
  return result;
}

// @ts-ignore: decorator
@inline function k2id(j: i32): i32 {
  return gK + j - 1;
}

function pairSeek(j: i32, t: f64): bool {
  // Deliberately advances with Next (not the children's Seek) so the penalty logic sees every gap.
  while (true) {
    const useA = load<u8>(rec(j), 18) != 0;
    const ts = useA ? nodeAtT(pairA(j)) : leafAtT(j);
    if (ts >= t) return useA ? nodeSeek(pairA(j), ts) : leafSeek(j, ts);
    if (!pairNext(j)) return false;
  }
  return false;
}

function setup(inT: usize, inV: usize, bounds: usize, k: i32, state: usize, counter: i32): void {
  gT = inT;
  gV = inV;
  gState = state;
  gK = k;
  gCounter = counter != 0;
  for (let i = 0; i < k; i++) {
    const r = rec(i);
    store<i32>(r, <i32>load<u32>(bounds + (<usize>i << 2)) - 1);
    store<i32>(r, <i32>load<u32>(bounds + (<usize>(i + 1) << 2)), 4);
    store<f64>(r, 0, 8);
  }
}

/**
 * Penalty-based deduplication of k >= 1 replicas (see the file comment). Writes the merged series
 * to outT/outV and returns its length. `counter` != 0 enables the counter error adjustment used for
 * rate/increase/irate/resets.
 */
export function dedupPenalty(inT: usize, inV: usize, bounds: usize, k: i32, state: usize, outT: usize, outV: usize, counter: i32): i32 {
  if (k <= 0) return 0;
  if (k == 2) return penaltyPair(inT, inV, bounds, outT, outV, counter != 0);
  setup(inT, inV, bounds, k, state, counter);
  for (let j = 1; j < k; j++) pairInit(j);
  const root = k == 1 ? 0 : k2id(k - 1);
  let n = 0;
  while (nodeNext(root)) {
    const leaf = nodeAtLeaf(root);
    const o = <usize>n << 3;
    store<f64>(outT + o, leafAtT(leaf));
    store<u64>(outV + o, leafAtBits(leaf));
    n++;
  }
  return n;
}

// @ts-ignore: decorator
@inline function valueAt(v: usize, i: i32, adj: f64): f64 {
  return load<f64>(v + (<usize>i << 3)) + adj;
}

// @ts-ignore: decorator
@inline function bitsAt(v: usize, i: i32, adj: f64): u64 {
  const bits = load<u64>(v + (<usize>i << 3));
  return adj == 0 ? bits : reinterpret<u64>(reinterpret<f64>(bits) + adj);
}

/**
 * The common HA pair (k = 2) with all iterator state in locals: the same steps as pairNext over
 * two leaves, without the generic tree dispatch.
 */
function penaltyPair(inT: usize, inV: usize, bounds: usize, outT: usize, outV: usize, counter: bool): i32 {
  const aT = inT + (<usize>load<u32>(bounds) << 3);
  const aV = inV + (<usize>load<u32>(bounds) << 3);
  const aLen = <i32>(load<u32>(bounds, 4) - load<u32>(bounds));
  const bT = inT + (<usize>load<u32>(bounds, 4) << 3);
  const bV = inV + (<usize>load<u32>(bounds, 4) << 3);
  const bLen = <i32>(load<u32>(bounds, 8) - load<u32>(bounds, 4));
  let ia = 0;
  let ib = 0;
  let aval = aLen > 0;
  let bval = bLen > 0;
  let adjA: f64 = 0;
  let adjB: f64 = 0;
  let lastT: f64 = -Infinity;
  let penA: f64 = 0;
  let penB: f64 = 0;
  let useA = true;
  let lastIterA = true;
  let n = 0;
  for (;;) {
    const hadFloat = useA ? aval : bval;
    const lastVal: f64 = hadFloat ? (lastIterA ? valueAt(aV, ia, adjA) : valueAt(bV, ib, adjB)) : 0;
    const prevUseA = useA;
    if (aval) {
      const s = lastT + 1 + penA;
      while (ia < aLen && load<f64>(aT + (<usize>ia << 3)) < s) ia++;
      aval = ia < aLen;
    }
    if (bval) {
      const s = lastT + 1 + penB;
      while (ib < bLen && load<f64>(bT + (<usize>ib << 3)) < s) ib++;
      bval = ib < bLen;
    }
    if (!aval) {
      if (!bval) break;
      useA = false;
      lastT = load<f64>(bT + (<usize>ib << 3));
      lastIterA = false;
      penB = 0;
    } else if (!bval) {
      useA = true;
      lastT = load<f64>(aT + (<usize>ia << 3));
      lastIterA = true;
      penA = 0;
    } else {
      const ta = load<f64>(aT + (<usize>ia << 3));
      const tb = load<f64>(bT + (<usize>ib << 3));
      useA = ta <= tb;
      if (useA) {
        penB = lastT != -Infinity ? 2 * (ta - lastT) : DEDUP_INITIAL_PENALTY;
        penA = 0;
        lastT = ta;
        lastIterA = true;
      } else {
        penA = lastT != -Infinity ? 2 * (tb - lastT) : DEDUP_INITIAL_PENALTY;
        penB = 0;
        lastT = tb;
        lastIterA = false;
      }
    }
    if (counter && useA != prevUseA && hadFloat) {
      if (aval) {
        const v = valueAt(aV, ia, adjA);
        if (lastVal > v) adjA += lastVal - v;
      }
      if (bval) {
        const v = valueAt(bV, ib, adjB);
        if (lastVal > v) adjB += lastVal - v;
      }
    }
    const o = <usize>n << 3;
    if (lastIterA) {
      store<f64>(outT + o, load<f64>(aT + (<usize>ia << 3)));
      store<u64>(outV + o, bitsAt(aV, ia, adjA));
    } else {
      store<f64>(outT + o, load<f64>(bT + (<usize>ib << 3)));
      store<u64>(outV + o, bitsAt(bV, ib, adjB));
    }
    n++;
  }
  return n;
}

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

/** Group modes of dedupGroups. */
export const DEDUP_MODE_PENALTY: i32 = 0;
export const DEDUP_MODE_CHAIN: i32 = 1;

/**
 * Deduplicates many series in one call. Series g is described by groups[2g] (index of its first
 * entry in `bounds`) and groups[2g+1] (k, its number of replicas); its k + 1 bounds entries
 * delimit its replicas in inT/inV (each series has its own entries, as counter resets rewrite
 * them). Each series' result is appended to outT/outV (room for the sum of all replica lengths)
 * and its length stored in outCounts[g]. A series with one replica is copied unchanged (after the
 * optional counter resets). `state` needs DEDUP_STATE_BYTES per replica of the largest series.
 * Returns the total number of output samples.
 */
export function dedupGroups(
  inT: usize, inV: usize, bounds: usize, groups: usize, nGroups: i32, state: usize,
  outT: usize, outV: usize, outCounts: usize, mode: i32, counter: i32, resets: i32,
): i32 {
  let total: u32 = 0;
  for (let g = 0; g < nGroups; g++) {
    const b = bounds + (<usize>load<u32>(groups + (<usize>g << 3)) << 2);
    const k = <i32>load<u32>(groups + (<usize>g << 3), 4);
    if (resets != 0 && k > 0) applyCounterResets(inT, inV, b, k);
    const oT = outT + (<usize>total << 3);
    const oV = outV + (<usize>total << 3);
    let n: i32 = 0;
    if (k == 1) {
      const from = load<u32>(b);
      n = <i32>(load<u32>(b, 4) - from);
      memory.copy(oT, inT + (<usize>from << 3), <usize>n << 3);
      memory.copy(oV, inV + (<usize>from << 3), <usize>n << 3);
    } else if (k > 1) {
      n = mode == DEDUP_MODE_CHAIN ? dedupChain(inT, inV, b, k, state, oT, oV) : dedupPenalty(inT, inV, b, k, state, oT, oV, counter);
    }
    store<u32>(outCounts + (<usize>g << 2), <u32>n);
    total += <u32>n;
  }
  return <i32>total;
}
