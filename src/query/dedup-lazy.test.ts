import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { STALE_NAN } from "../model/series.ts";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import { encodeXorChunk } from "../tsdb/xor-encoder.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { XorChunkError } from "../wasm/xor.ts";
import { decodeDedupXorPairsLazy, decodeDedupXorSeries, type TimedRun } from "./dedup-xor.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

const bits = (v: Float64Array) => Array.from(new BigUint64Array(v.buffer, v.byteOffset, v.length), (b) => b.toString(16));
const T0 = 1_700_000_000_000;

function run(t: readonly number[], v: readonly number[], cuts: readonly number[]): TimedRun {
  const chunks: Uint8Array[] = [];
  const minT: number[] = [];
  const maxT: number[] = [];
  let a = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < t.length)].sort((x, y) => x - y).concat(t.length)) {
    if (cut <= a) continue;
    chunks.push(encodeXorChunk(Float64Array.from(t), Float64Array.from(v), a, cut));
    minT.push(t[a]!);
    maxT.push(t[cut - 1]!);
    a = cut;
  }
  return { chunks, minT, maxT };
}

// A replica: 15 s scrapes with ms jitter, occasional longer gaps (restarts), a counter with resets
// (or a gauge), sometimes stale markers; cut into chunks at random sample indexes.
const replica = fc
  .record({
    phase: fc.integer({ min: 0, max: 14_999 }),
    steps: fc.array(
      fc.oneof(
        { weight: 20, arbitrary: fc.integer({ min: -30, max: 30 }).map((j) => 15_000 + j) },
        { weight: 2, arbitrary: fc.integer({ min: 16_000, max: 45_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 45_000, max: 900_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 7_000 }) },
      ),
      { maxLength: 160 },
    ),
    values: fc.array(fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 0, max: 60 }) }, { weight: 1, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.constant(-2) }), { minLength: 1 }),
    counter: fc.boolean(),
    cuts: fc.array(fc.integer({ min: 0, max: 160 }), { maxLength: 6 }),
  })
  .map(({ phase, steps, values, counter, cuts }) => {
    const t: number[] = [];
    const v: number[] = [];
    let ts = T0 + phase;
    let c = 0;
    for (let i = 0; i < steps.length; i++) {
      ts += steps[i]!;
      const x = values[i % values.length]!;
      if (x === -2) v.push(STALE_NAN);
      else if (counter) v.push(x === -1 ? (c = 3) : (c += x));
      else v.push(x === -1 ? -x * 7.25 : x / 3);
      t.push(ts);
    }
    return run(t, v, cuts);
  })
  .filter((r) => r.chunks.length > 0);

const asChunks = (runs: readonly TimedRun[]) => runs.map((r) => r.chunks);

describe("decodeDedupXorPairsLazy", () => {
  it("equals decoding everything and penalty-deduplicating (fast-check)", () => {
    const opts = fc.record({ counter: fc.boolean(), bounds: fc.constantFrom("none", "inside", "narrow") });
    fc.assert(
      fc.property(fc.array(fc.array(replica, { maxLength: 2 }), { minLength: 1, maxLength: 5 }), opts, (series, o) => {
        const bounds =
          o.bounds === "inside" ? { mint: T0 + 10 * 15_000 + 7, maxt: T0 + 120 * 15_000 } : o.bounds === "narrow" ? { mint: T0 + 40 * 15_000, maxt: T0 + 41 * 15_000 + 500 } : {};
        const got = decodeDedupXorPairsLazy(wasm, series, { counter: o.counter, ...bounds });
        const want = decodeDedupXorSeries(wasm, series.map(asChunks), { mode: "penalty", counter: o.counter, ...bounds });
        expect(got).toBeDefined();
        expect(got!.length).toBe(series.length);
        got!.forEach((g, i) => {
          expect(Array.from(g.t)).toEqual(Array.from(want[i]!.t));
          expect(bits(g.v)).toEqual(bits(want[i]!.v));
        });
      }),
      { numRuns: 1500 },
    );
  });

  it("equals it when both replicas share timestamps (ties), with gaps in either (fast-check)", () => {
    const gaps = fc.array(fc.tuple(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 1, max: 40 })), { maxLength: 3 });
    const pair = fc.tuple(gaps, gaps, fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 150 }), { maxLength: 4 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(pair, { minLength: 1, maxLength: 4 }), fc.boolean(), (pairs, bounded) => {
        const grid = Array.from({ length: 150 }, (_, i) => T0 + i * 15_000);
        const keep = (g: readonly (readonly [number, number])[]) => grid.filter((_, i) => !g.some(([from, len]) => i >= from && i < from + len));
        const series = pairs.map(([ga, gb, ca, cb, reset]) => {
          const ta = keep(ga);
          const tb = keep(gb);
          const val = (t: readonly number[]) => t.map((x) => ((x - T0) / 15_000) * 2 - (reset && x > T0 + 75 * 15_000 ? 120 : 0));
          return [ta, tb].filter((t) => t.length > 0).map((t, r) => run(t, val(t), r === 0 ? ca : cb));
        });
        const bounds = bounded ? { mint: T0 + 20 * 15_000, maxt: T0 + 130 * 15_000 } : {};
        const got = decodeDedupXorPairsLazy(wasm, series, { counter: true, ...bounds })!;
        const want = decodeDedupXorSeries(wasm, series.map(asChunks), { mode: "penalty", counter: true, ...bounds });
        got.forEach((g, i) => {
          expect(Array.from(g.t)).toEqual(Array.from(want[i]!.t));
          expect(bits(g.v)).toEqual(bits(want[i]!.v));
        });
      }),
      { numRuns: 1000 },
    );
  });

  it("breaks a tie with the replica it does not follow as penaltyPair does (a wins ties)", () => {
    // The output switches to b at 8000; b's sample at 38001 then lands exactly on a's seek target
    // (18000 + 1 + 2 * 10000) where a also has a sample: a wins the tie.
    const a = run([T0, T0 + 10_000, T0 + 38_001, T0 + 50_000], [1, 2, 3, 4], []);
    const b = run([T0 + 1, T0 + 8_000, T0 + 18_000, T0 + 38_001, T0 + 48_001], [1, 2, 3, 4, 5], []);
    const got = decodeDedupXorPairsLazy(wasm, [[a, b]], { counter: true })!;
    const want = decodeDedupXorSeries(wasm, [asChunks([a, b])], { mode: "penalty", counter: true });
    expect(Array.from(got[0]!.t)).toEqual(Array.from(want[0]!.t));
    expect(bits(got[0]!.v)).toEqual(bits(want[0]!.v));
    expect(Array.from(want[0]!.t).map((t) => t - T0)).toEqual([0, 8_000, 18_000, 38_001, 50_000]);
  });

  it("skips chunks of the replica the output does not follow", () => {
    // Replica b's second chunk is corrupt but lies where a has no gap: it is never decoded.
    const ta = Array.from({ length: 200 }, (_, i) => T0 + i * 15_000);
    const tb = ta.map((x) => x + 5_000);
    const a = run(ta, ta.map((_, i) => i), [100]);
    const b = run(tb, tb.map((_, i) => i), [50, 100, 150]);
    const broken: TimedRun = { ...b, chunks: b.chunks.map((c, i) => (i === 1 ? c.slice(0, 12) : c)) };
    const got = decodeDedupXorPairsLazy(wasm, [[a, broken]], { counter: true })!;
    expect(Array.from(got[0]!.t)).toEqual(ta);
    // The decode-everything path has to decode it, and fails.
    expect(() => decodeDedupXorSeries(wasm, [asChunks([a, broken])], { mode: "penalty", counter: true })).toThrow(XorChunkError);
  });

  it("reports a corrupt chunk it has to decode, numbered across series and runs", () => {
    const t = Array.from({ length: 20 }, (_, i) => T0 + i * 15_000);
    const good = run(t, t, []);
    const bad: TimedRun = { ...good, chunks: [good.chunks[0]!.slice(0, 10)] };
    try {
      decodeDedupXorPairsLazy(wasm, [[good], [bad]], {});
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(XorChunkError);
      expect((err as XorChunkError).chunkIndex).toBe(1);
    }
  });

  it("gives up (undefined) when chunk times disagree with the samples", () => {
    const t = Array.from({ length: 40 }, (_, i) => T0 + i * 15_000);
    const good = run(t, t, [20]);
    const lying: TimedRun = { ...good, maxT: [good.maxT[0]! - 15_000, good.maxT[1]!] };
    expect(decodeDedupXorPairsLazy(wasm, [[lying]], {})).toBeUndefined();
    // Times a store did not fill in (zero): caught by the chunk header's first timestamp.
    expect(decodeDedupXorPairsLazy(wasm, [[{ ...good, minT: [0, 0], maxT: [0, 0] }]], {})).toBeUndefined();
    const overlapping = run([...t.slice(0, 20), ...t.slice(10)], [...t.slice(0, 20), ...t.slice(10)], [20]);
    expect(decodeDedupXorPairsLazy(wasm, [[overlapping]], {})).toBeUndefined();
  });
});
