// The common HA pair (k = 2) of Thanos' penalty deduplication with all iterator state in locals:
// the same steps and float operations as pairNext (dedup-tree.ts) over two leaves, without the
// generic tree dispatch.

import { adjustBits, nextPenalty } from "./dedup-penalty-rules";

// @ts-ignore: decorator
@inline function valueAt(v: usize, i: i32, adj: f64): f64 {
  return load<f64>(v + (<usize>i << 3)) + adj;
}

// @ts-ignore: decorator
@inline function bitsAt(v: usize, i: i32, adj: f64): u64 {
  const bits = load<u64>(v + (<usize>i << 3));
  return adjustBits(bits, adj);
}

/**
 * The common HA pair (k = 2) with all iterator state in locals: the same steps as pairNext over
 * two leaves, without the generic tree dispatch.
 */
export function penaltyPair(inT: usize, inV: usize, bounds: usize, outT: usize, outV: usize, counter: bool): i32 {
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
