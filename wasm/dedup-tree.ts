// Thanos' penalty deduplication of k >= 1 replicas, over decoded sample arrays.
//
// Penalty mode reproduces Thanos' `pkg/dedup/iter.go` exactly: a left-deep chain of pairwise
// iterators pair(pair(pair(r0, r1), r2), r3)... where each pair picks the replica with the earlier
// next sample, but seeks the replica it did not pick to at least lastT + 1 + penalty (penalty =
// 5000 ms before any sample, then 2 × the last gap), so it sticks to one replica and only switches
// when that replica has a gap. In counter mode each replica carries an error adjustment that lifts
// its values when the output switches to it with a lower value (no spurious counter reset).
// The iterator tree is kept as explicit state in linear memory (dedup-tree-state.ts) so that the
// recursion (adjustments propagate through inner pairs, inner pairs are advanced through Next,
// never skipped) follows the Go code step by step. The common k = 2 case runs in dedup-pair.ts.

import { penaltyPair } from "./dedup-pair";
import { adjustBits, nextPenalty } from "./dedup-penalty-rules";
import { gCounter, gK, gT, gV, rec, setup } from "./dedup-tree-state";

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
  return adjustBits(bits, load<f64>(r, 8));
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
      penB = nextPenalty(ta, lastT);
      penA = 0;
      lastT = ta;
      lastIterA = true;
    } else {
      penA = nextPenalty(tb, lastT);
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
