// penaltyPair (dedup-pair.ts) over two lazy chunk cursors (dedup-lazy-cursor.ts): the same steps
// and float operations, so the output is identical, but the replica the output does not follow is
// only seeked by target and its chunks mostly never decoded.

import { adjustBits, nextPenalty } from "./dedup-penalty-rules";
import { atT, bitsAt, exists, gFail, gMaxt, gMint, lazyFail, maxTimeOf, resolve, scratchT, valueAt } from "./dedup-lazy-cursor";

/**
 * Penalty-deduplicates the replicas behind cursors a and b into outT/outV; returns the samples
 * written, or -1 with the failure recorded (see lazyFail).
 */
export function lazyPair(a: usize, b: usize, outT: usize, outV: usize, counter: bool): i32 {
  let aval = exists(a);
  let bval = exists(b);
  if (aval < 0 || bval < 0) return -1;
  let lastT: f64 = -Infinity;
  let penA: f64 = 0;
  let penB: f64 = 0;
  let useA = true;
  let lastIterA = true;
  let lastVal: f64 = 0; // value emitted last (valueAt of the emitting cursor)
  let n = 0;
  for (;;) {
    if (n > 0) {
      // Fast path, the common step: the output keeps following replica x (it emitted last, its
      // cursor sits on that sample) and x's next sample, in the same decoded chunk, comes before
      // the other replica's new seek target, so x wins without looking at the other's samples.
      // Same state changes as the generic step below; anything else leaves for the generic step.
      const x = lastIterA ? a : b;
      const y = lastIterA ? b : a;
      const yValid = (lastIterA ? bval : aval) != 0;
      const xT = <usize>load<u32>(x, 40);
      const xV = <usize>load<u32>(x, 44);
      const xn = load<i32>(x, 12);
      const adjX = load<f64>(x, 32);
      const yEnd = <i32>load<u32>(y, 4);
      let xi = load<i32>(x, 16);
      let penY = lastIterA ? penB : penA;
      let yTarget = load<f64>(y, 24);
      let ym = load<i32>(y, 20);
      let yExhausted = false;
      while (xi + 1 < xn) {
        const tNext = load<f64>(xT + (<usize>(xi + 1) << 3));
        let target = yTarget;
        if (yValid && !yExhausted) {
          target = max(yTarget, lastT + 1 + penY);
          const t = max(target, gMint);
          let m = ym;
          while (m < yEnd && maxTimeOf(m) < t) m++;
          if (m < yEnd && maxTimeOf(m) > gMaxt) break; // existence needs decoding
          if (tNext >= t && m < yEnd) break; // the other replica may win: compare in the generic step
          ym = m;
          yTarget = target;
          if (m >= yEnd) {
            yExhausted = true; // "other replica invalid" branch: its penalty stays
          } else {
            penY = 2 * (tNext - lastT);
          }
        }
        lastT = tNext;
        xi++;
        const o = <usize>n << 3;
        const raw = load<u64>(xV + (<usize>xi << 3));
        store<f64>(outT + o, tNext);
        store<u64>(outV + o, adjustBits(raw, adjX));
        lastVal = reinterpret<f64>(raw) + adjX;
        n++;
      }
      store<i32>(x, xi, 16);
      store<f64>(x, max(load<f64>(x, 24), lastT), 24);
      store<f64>(y, yTarget, 24);
      store<i32>(y, ym, 20);
      if (lastIterA) {
        penA = 0;
        penB = penY;
        if (yExhausted) bval = 0;
      } else {
        penB = 0;
        penA = penY;
        if (yExhausted) aval = 0;
      }
    }
    const hadFloat = (useA ? aval : bval) != 0;
    // penaltyPair reads the value at the last-emitting cursor before seeking: the value emitted
    // last, or before the first step replica a's first sample.
    const prevVal: f64 = hadFloat ? (n == 0 ? valueAt(a) : lastVal) : 0;
    const prevUseA = useA;
    if (aval != 0) {
      store<f64>(a, max(load<f64>(a, 24), lastT + 1 + penA), 24);
      aval = exists(a);
    }
    if (bval != 0) {
      store<f64>(b, max(load<f64>(b, 24), lastT + 1 + penB), 24);
      bval = exists(b);
    }
    if (aval < 0 || bval < 0) return -1;
    if (aval == 0) {
      if (bval == 0) break;
      useA = false;
      lastT = atT(b);
      lastIterA = false;
      penB = 0;
    } else if (bval == 0) {
      useA = true;
      lastT = atT(a);
      lastIterA = true;
      penA = 0;
    } else {
      // ta <= tb, resolving the other cursor only when its target does not already decide it:
      // a cursor's sample is never before its target.
      const targetA = max(load<f64>(a, 24), gMint);
      const targetB = max(load<f64>(b, 24), gMint);
      let ta: f64;
      let tb: f64;
      if (targetA <= targetB) {
        ta = atT(a);
        if (ta < targetB) {
          useA = true;
          tb = Infinity; // not needed
        } else {
          tb = atT(b);
          useA = ta <= tb;
        }
      } else {
        tb = atT(b);
        if (tb < targetA) {
          useA = false;
          ta = Infinity; // not needed
        } else {
          ta = atT(a);
          useA = ta <= tb;
        }
      }
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
      if (aval != 0) {
        const v = valueAt(a);
        if (prevVal > v) store<f64>(a, load<f64>(a, 32) + (prevVal - v), 32);
      }
      if (bval != 0) {
        const v = valueAt(b);
        if (prevVal > v) store<f64>(b, load<f64>(b, 32) + (prevVal - v), 32);
      }
    }
    if (gFail != 0) return -1;
    const r = lastIterA ? a : b;
    if (resolve(r) != 1) {
      if (gFail == 0) lazyFail(-2);
      return -1;
    }
    const o = <usize>n << 3;
    const i = load<i32>(r, 16);
    store<f64>(outT + o, scratchT(r, i));
    store<u64>(outV + o, bitsAt(r));
    lastVal = load<f64>(<usize>load<u32>(r, 44) + (<usize>i << 3)) + load<f64>(r, 32);
    n++;
  }
  return n;
}
