import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { FloatSeries } from "../model/series.ts";
import { labelsEqual, labelsFromRecord } from "../model/labels.ts";
import { isStaleMarker } from "../model/series.ts";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { applyCounterResets, dedupSamples, dedupSeries, dedupSeriesSet, mergeSortedSamples, type SampleArrays } from "./dedup.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

const labels = labelsFromRecord({ __name__: "up", job: "x" });
const series = (t: number[], v: number[]): FloatSeries => ({ labels, t: Float64Array.from(t), v: Float64Array.from(v) });
const range = (from: number, to: number, step: number, offset = 0) => {
  const out: number[] = [];
  for (let t = from + offset; t <= to; t += step) out.push(t);
  return out;
};
const bitsOf = (v: Float64Array) => Array.from(new BigUint64Array(v.buffer, v.byteOffset, v.length), (b) => b.toString(16));
const maxGap = (t: Float64Array) => t.reduce((m, x, i) => (i === 0 ? 0 : Math.max(m, x - t[i - 1]!)), 0);

// ---- straightforward reference: Thanos' iterator objects, one-to-one ----
interface RefIt {
  next(): boolean;
  seek(t: number): boolean;
  atT(): number;
  at(): number;
  adjust(last: number): void;
}
class RefLeaf implements RefIt {
  idx = -1;
  adj = 0;
  readonly r: SampleArrays;
  readonly counter: boolean;
  constructor(r: SampleArrays, counter: boolean) {
    this.r = r;
    this.counter = counter;
  }
  next() {
    if (this.idx < this.r.t.length) this.idx++;
    return this.idx < this.r.t.length;
  }
  seek(t: number) {
    while (this.idx < this.r.t.length && this.r.t[this.idx]! < t) this.idx++;
    return this.idx < this.r.t.length;
  }
  atT() {
    return this.r.t[this.idx]!;
  }
  at() {
    const v = this.r.v[this.idx]!;
    return this.adj === 0 ? v : v + this.adj;
  }
  adjust(last: number) {
    if (this.counter && last > this.at()) this.adj += last - this.at();
  }
}
class RefPair implements RefIt {
  aval: boolean;
  bval: boolean;
  lastT = -Infinity;
  lastIter: RefIt;
  penA = 0;
  penB = 0;
  useA = true;
  readonly a: RefIt;
  readonly b: RefIt;
  constructor(a: RefIt, b: RefIt) {
    this.a = a;
    this.b = b;
    this.lastIter = a;
    this.aval = a.next();
    this.bval = b.next();
  }
  next(): boolean {
    const isFloat = this.useA ? this.aval : this.bval;
    const lastVal = isFloat ? this.lastIter.at() : 0;
    const lastUseA = this.useA;
    const r = this.step();
    if (this.useA !== lastUseA && isFloat) this.adjust(lastVal);
    return r;
  }
  private step(): boolean {
    if (this.aval) this.aval = this.a.seek(this.lastT + 1 + this.penA);
    if (this.bval) this.bval = this.b.seek(this.lastT + 1 + this.penB);
    if (!this.aval) {
      this.useA = false;
      if (this.bval) {
        this.lastT = this.b.atT();
        this.lastIter = this.b;
        this.penB = 0;
      }
      return this.bval;
    }
    if (!this.bval) {
      this.useA = true;
      this.lastT = this.a.atT();
      this.lastIter = this.a;
      this.penA = 0;
      return true;
    }
    const ta = this.a.atT();
    const tb = this.b.atT();
    this.useA = ta <= tb;
    if (this.useA) {
      this.penB = this.lastT !== -Infinity ? 2 * (ta - this.lastT) : 5000;
      this.penA = 0;
      this.lastT = ta;
      this.lastIter = this.a;
    } else {
      this.penA = this.lastT !== -Infinity ? 2 * (tb - this.lastT) : 5000;
      this.penB = 0;
      this.lastT = tb;
      this.lastIter = this.b;
    }
    return true;
  }
  seek(t: number): boolean {
    for (;;) {
      const ts = this.atT();
      if (ts >= t) return this.useA ? this.a.seek(ts) : this.b.seek(ts);
      if (!this.next()) return false;
    }
  }
  atT() {
    return this.useA ? this.a.atT() : this.b.atT();
  }
  at() {
    return this.lastIter.at();
  }
  adjust(last: number) {
    if (this.aval) this.a.adjust(last);
    if (this.bval) this.b.adjust(last);
  }
}
function refPenalty(replicas: SampleArrays[], counter: boolean): { t: number[]; v: number[] } {
  if (replicas.length === 1) return { t: Array.from(replicas[0]!.t), v: Array.from(replicas[0]!.v) };
  let it: RefIt = new RefLeaf(replicas[0]!, counter);
  for (const r of replicas.slice(1)) it = new RefPair(it, new RefLeaf(r, counter));
  const t: number[] = [];
  const v: number[] = [];
  while (it.next()) {
    t.push(it instanceof RefPair ? it.lastIter.atT() : it.atT());
    v.push(it.at());
  }
  return { t, v };
}
function refChain(replicas: SampleArrays[]): { t: number[]; v: number[] } {
  const all = replicas.flatMap((r, ri) => Array.from(r.t, (t, i) => ({ t, v: r.v[i]!, ri, i })));
  all.sort((x, y) => x.t - y.t || x.ri - y.ri || x.i - y.i);
  const t: number[] = [];
  const v: number[] = [];
  for (const s of all) {
    if (t.length > 0 && s.t === t.at(-1)) continue;
    t.push(s.t);
    v.push(s.v);
  }
  return { t, v };
}

describe("penalty dedup", () => {
  it("fills each replica's gaps from the other: one gap-free series", () => {
    const step = 15_000;
    const a = range(0, 3_600_000, step).filter((t) => t < 600_000 || t > 900_000); // A down 5 min
    const b = range(0, 3_600_000, step, 4_000).filter((t) => t < 2_000_000 || t > 2_400_000); // B down later
    const out = dedupSeries(wasm, [series(a, a.map((t) => t / 1000)), series(b, b.map((t) => t / 1000))], { mode: "penalty" });
    expect(maxGap(Float64Array.from(a))).toBeGreaterThan(300_000);
    expect(maxGap(Float64Array.from(b))).toBeGreaterThan(300_000);
    expect(maxGap(out.t)).toBeLessThanOrEqual(3 * step);
    expect(out.t[0]).toBe(0);
    expect(out.t.at(-1)).toBeGreaterThanOrEqual(3_600_000 - step);
    // Sticky: not an interleaving of both replicas (that would double the sample rate).
    expect(out.t.length).toBeLessThan(a.length + 40);
    for (let i = 1; i < out.t.length; i++) expect(out.t[i]!).toBeGreaterThan(out.t[i - 1]!);
    // Values come from the replica the sample was taken from.
    out.t.forEach((t, i) => expect(out.v[i]).toBe(t / 1000));
  });

  it("adjusts counters on a replica switch: no spurious reset", () => {
    const step = 15_000;
    // Running totals as ApplyCounterResets yields them: B missed the end of the counter before a
    // restart, so B's total is 1000 lower from there on.
    const a = range(0, 600_000, step).filter((t) => t < 300_000);
    const av = a.map((t) => t / 100);
    const b = range(0, 1_200_000, step, 2_000);
    const bv = b.map((t) => (t < 280_000 ? t / 100 : t / 100 - 1000));
    const plain = dedupSamples(wasm, [{ t: Float64Array.from(a), v: Float64Array.from(av) }, { t: Float64Array.from(b), v: Float64Array.from(bv) }], { mode: "penalty" });
    const drops = (v: Float64Array) => v.reduce((n, x, i) => n + (i > 0 && x < v[i - 1]! ? 1 : 0), 0);
    expect(drops(plain.v)).toBe(1); // the switch A → B looks like a reset without adjustment
    const adjusted = dedupSamples(wasm, [{ t: Float64Array.from(a), v: Float64Array.from(av) }, { t: Float64Array.from(b), v: Float64Array.from(bv) }], { mode: "penalty", counter: true });
    expect(drops(adjusted.v)).toBe(0);
    expect(Array.from(adjusted.t)).toEqual(Array.from(plain.t));
    // After the switch B's samples are lifted by what B lagged behind.
    const last = adjusted.v.length - 1;
    expect(adjusted.v[last]).toBeGreaterThan(plain.v[last]!);
  });

  it("returns identical replicas unchanged (bits included)", () => {
    const t = range(0, 300_000, 15_000);
    // Built in a Float64Array: plain JS arrays may canonicalise NaN payloads.
    const v = Float64Array.from(t, (x, i) => (i === 6 ? NaN : i === 7 ? -0 : x * 1.5));
    new Uint32Array(v.buffer, 5 * 8, 2).set([0x00000002, 0x7ff00000]); // stale marker
    const rep = (): FloatSeries => ({ labels, t: Float64Array.from(t), v: v.slice() });
    for (const mode of ["penalty", "chain"] as const) {
      const out = dedupSeries(wasm, [rep(), rep(), rep()], { mode });
      expect(Array.from(out.t)).toEqual(t);
      expect(bitsOf(out.v)).toEqual(bitsOf(v));
      expect(isStaleMarker(out.v[5]!)).toBe(true);
      expect(Object.is(out.v[7], -0)).toBe(true);
    }
  });

  it("passes a single replica through and applies [mint, maxt]", () => {
    const t = range(0, 300_000, 15_000);
    const one = dedupSeries(wasm, [series(t, t)], { mode: "penalty", counter: true });
    expect(Array.from(one.t)).toEqual(t);
    const b = dedupSeries(wasm, [series(t, t), series(t, t)], { mode: "penalty", mint: 30_000, maxt: 90_000 });
    expect(Array.from(b.t)).toEqual([30_000, 45_000, 60_000, 75_000, 90_000]);
  });

  it("accepts views into linear memory (XOR decoder output) as replicas", () => {
    const t = Float64Array.from(range(0, 150_000, 15_000));
    const view = wasm.f64(wasm.alloc(t.length * 8), t.length);
    view.set(t);
    const out = dedupSamples(wasm, [{ t: view, v: view }, { t, v: t }], { mode: "penalty" });
    expect(Array.from(out.t)).toEqual(Array.from(t));
  });

  it("matches a straightforward reference implementation (fast-check)", () => {
    const replica = fc
      .uniqueArray(fc.integer({ min: 0, max: 400 }), { maxLength: 60 })
      .chain((ts) => {
        const t = ts.sort((x, y) => x - y).map((x) => x * 1000 + (x % 7) * 13);
        return fc.tuple(fc.constant(t), fc.array(fc.oneof(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 1000 })), { minLength: t.length, maxLength: t.length }));
      });
    fc.assert(
      fc.property(fc.array(replica, { minLength: 1, maxLength: 5 }), fc.boolean(), (reps, counter) => {
        const arrays = reps.map(([t, v]) => ({ t: Float64Array.from(t), v: Float64Array.from(v) }));
        const got = dedupSamples(wasm, arrays, { mode: "penalty", counter });
        const want = refPenalty(arrays, counter);
        expect(Array.from(got.t)).toEqual(want.t);
        expect(bitsOf(got.v)).toEqual(bitsOf(Float64Array.from(want.v)));
        const chain = dedupSamples(wasm, arrays, { mode: "chain" });
        const wantChain = refChain(arrays);
        expect(Array.from(chain.t)).toEqual(wantChain.t);
        expect(bitsOf(chain.v)).toEqual(bitsOf(Float64Array.from(wantChain.v)));
      }),
      { numRuns: 500 },
    );
  });
});

describe("counter resets (Thanos ApplyCounterResetsSeriesIterator)", () => {
  it("accumulates across resets, drops NaN and stale samples, honours the repeated-timestamp marker", () => {
    const t = Float64Array.from([1, 2, 3, 4, 5, 5, 6, 7]);
    const v = Float64Array.from([10, 15, 3, NaN, 8, 20, 25, 1]);
    const stale = Float64Array.from([9]);
    new Uint32Array(stale.buffer).set([0x00000002, 0x7ff00000]);
    const out = applyCounterResets(wasm, { t, v });
    // 10 → 15 (+5) → 3 is a reset (+3) → NaN skipped → 8 (+5) → t=5 again: true last value 20
    // → 25 (+5) → 1 is a reset (+1)
    expect(Array.from(out.t)).toEqual([1, 2, 3, 5, 6, 7]);
    expect(Array.from(out.v)).toEqual([10, 15, 18, 23, 28, 29]);
    const withStale = applyCounterResets(wasm, { t: Float64Array.from([1, 2]), v: Float64Array.from([stale[0]!, 4]) });
    expect(Array.from(withStale.t)).toEqual([2]);
  });

  it("feeds reset-free replicas into penalty dedup with counter adjustment", () => {
    const step = 15_000;
    const a = range(0, 600_000, step);
    const av = a.map((t) => (t < 300_000 ? t / 1000 : t / 1000 - 300)); // restart at 300 s
    const b = range(0, 600_000, step, 3_000).filter((t) => t < 200_000 || t > 400_000);
    const bv = b.map((t) => (t < 300_000 ? t / 1000 : t / 1000 - 300));
    const out = dedupSamples(wasm, [{ t: Float64Array.from(a), v: Float64Array.from(av) }, { t: Float64Array.from(b), v: Float64Array.from(bv) }], {
      mode: "penalty",
      counter: true,
      counterResets: true,
    });
    for (let i = 1; i < out.v.length; i++) expect(out.v[i]!).toBeGreaterThanOrEqual(out.v[i - 1]!);
    expect(out.t.length).toBeGreaterThan(a.length - 2);
  });
});

describe("chain dedup and k-way merge", () => {
  it("interleaves replicas and drops duplicate timestamps", () => {
    const out = mergeSortedSamples(wasm, [
      { t: Float64Array.from([1, 3, 5, 7]), v: Float64Array.from([10, 30, 50, 70]) },
      { t: Float64Array.from([2, 3, 6]), v: Float64Array.from([20, 31, 60]) },
      { t: Float64Array.from([]), v: Float64Array.from([]) },
    ]);
    expect(Array.from(out.t)).toEqual([1, 2, 3, 5, 6, 7]);
    expect(Array.from(out.v)).toEqual([10, 20, 30, 50, 60, 70]);
  });

  it("dedups a label-sorted series set group by group", () => {
    const other = labelsFromRecord({ __name__: "up", job: "y" });
    const t = range(0, 60_000, 15_000);
    const out = dedupSeriesSet(
      wasm,
      [series(t, t), series(t, t), { labels: other, t: Float64Array.from(t), v: Float64Array.from(t) }],
      { mode: "penalty" },
      labelsEqual,
    );
    expect(out.map((s) => s.labels)).toEqual([labels, other]);
    expect(Array.from(out[0]!.t)).toEqual(t);
  });
});
