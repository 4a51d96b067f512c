import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import { encodeXorChunk } from "../tsdb/xor-encoder.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { decodeXorSeriesBatch, XorChunkError } from "../wasm/xor.ts";
import { dedupSamples, type DedupOptions, type SampleArrays } from "./dedup.ts";
import { decodeDedupXorSeries, type ReplicaChunks } from "./dedup-xor.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

const bits = (v: Float64Array) => Array.from(new BigUint64Array(v.buffer, v.byteOffset, v.length), (b) => b.toString(16));

// Reference: decode every replica to JS arrays, then dedup series by series.
function reference(series: readonly ReplicaChunks[], opts: DedupOptions): SampleArrays[] {
  const decoded = decodeXorSeriesBatch(wasm, series.flat(), { mint: opts.mint, maxt: opts.maxt });
  let k = 0;
  return series.map((reps) => {
    const mine = decoded.slice(k, k + reps.length);
    k += reps.length;
    return mine.length === 0 ? { t: new Float64Array(0), v: new Float64Array(0) } : dedupSamples(wasm, mine, { ...opts, mint: undefined, maxt: undefined });
  });
}

// A replica: ascending timestamps on a 15 s grid with gaps, cut into 1-3 chunks.
const replica = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 80 }),
    fc.integer({ min: 0, max: 14_999 }),
    fc.integer({ min: 1, max: 3 }),
    fc.boolean(),
  )
  .map(([slots, phase, parts, counter]) => {
    const t = Float64Array.from(slots.sort((a, b) => a - b), (s) => 1_700_000_000_000 + s * 15_000 + phase);
    const v = Float64Array.from(t, (x, i) => (counter ? i * 3 + (i > 40 ? -50 : 0) : Math.sin(x / 1e7) * 100));
    const chunks: Uint8Array[] = [];
    const size = Math.max(1, Math.ceil(t.length / parts));
    for (let i = 0; i < t.length; i += size) chunks.push(encodeXorChunk(t, v, i, Math.min(t.length, i + size)));
    return chunks;
  });

describe("decodeDedupXorSeries", () => {
  it("equals decoding to JS arrays and deduplicating series by series (fast-check)", () => {
    const opts = fc.record({
      mode: fc.constantFrom("penalty" as const, "chain" as const),
      counter: fc.boolean(),
      counterResets: fc.boolean(),
      bounded: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(fc.array(replica, { maxLength: 4 }), { maxLength: 6 }), opts, (series, o) => {
        const d: DedupOptions = {
          mode: o.mode,
          counter: o.counter,
          counterResets: o.counterResets,
          ...(o.bounded ? { mint: 1_700_000_000_000 + 40 * 15_000, maxt: 1_700_000_000_000 + 250 * 15_000 } : {}),
        };
        const got = decodeDedupXorSeries(wasm, series, d);
        const want = reference(series, d);
        expect(got.length).toBe(series.length);
        got.forEach((g, i) => {
          expect(Array.from(g.t)).toEqual(Array.from(want[i]!.t));
          expect(bits(g.v)).toEqual(bits(want[i]!.v));
        });
      }),
      { numRuns: 300 },
    );
  });

  it("drops overlapping chunks inside a replica (slow path) like the per-series decoder", () => {
    const t = Float64Array.from({ length: 50 }, (_, i) => 1_000_000 + i * 15_000);
    const c = encodeXorChunk(t, t);
    const got = decodeDedupXorSeries(wasm, [[[c, c], [c]]], { mode: "penalty" });
    expect(Array.from(got[0]!.t)).toEqual(Array.from(t));
  });

  it("reports corrupt chunks with their index across all series", () => {
    const t = Float64Array.from({ length: 20 }, (_, i) => i * 15_000);
    const good = encodeXorChunk(t, t);
    const bad = good.slice(0, 10);
    expect(() => decodeDedupXorSeries(wasm, [[[good]], [[good], [bad]]], { mode: "penalty" })).toThrow(XorChunkError);
    try {
      decodeDedupXorSeries(wasm, [[[good]], [[good], [bad]]], { mode: "penalty" });
    } catch (err) {
      expect((err as XorChunkError).chunkIndex).toBe(2);
    }
  });

  it("short and long results are copies of their own, unchanged by later calls and by each other", () => {
    for (const n of [20, 500]) { // short: views into one copy per call; long: a copy per series
      const mk = (k: number): Uint8Array => {
        const t = Float64Array.from({ length: n }, (_, i) => 1_000_000 + i * 15_000);
        return encodeXorChunk(t, Float64Array.from(t, (_, i) => i * k));
      };
      const first = decodeDedupXorSeries(wasm, [[[mk(1)]], [[mk(2)]]], { mode: "penalty" });
      const copy = first.map((r) => Array.from(r.v));
      decodeDedupXorSeries(wasm, [[[mk(7)]], [[mk(9)]]], { mode: "penalty" }); // reuses WASM memory
      expect(first.map((r) => Array.from(r.v))).toEqual(copy);
      first[0]!.v.fill(-1);
      expect(Array.from(first[1]!.v)).toEqual(copy[1]);
      expect(first[0]!.t.length).toBe(n);
    }
  });
});
