/**
 * Property test of the k-way merge: for random sorted store streams (overlapping label sets,
 * shared and distinct chunks, batches, series split over frames) the fan-out yields exactly the
 * sorted union by labels with every distinct chunk once, ordered by time.
 */
import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SeriesRequestSchema, SeriesResponseSchema } from "../gen/store/storepb/rpc_pb.ts";
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { collectSeries, fanoutSeries } from "./fanout.ts";

interface Gen { key: number; chunks: { t: number; id: number }[] }

// Label sets from a small universe so stores overlap; chunk identity = (t, id) with id in its bytes.
const storeArb = fc.array(fc.record({ key: fc.integer({ min: 0, max: 30 }), chunks: fc.array(fc.record({ t: fc.integer({ min: 0, max: 5 }), id: fc.integer({ min: 0, max: 3 }) }), { maxLength: 4 }) }), { maxLength: 12 })
  .map((list) => {
    const by = new Map<number, Gen>();
    for (const g of list) by.set(g.key, g);
    return [...by.values()].sort((a, b) => labelOf(a.key).localeCompare(labelOf(b.key)));
  });

function labelOf(key: number): string {
  return `s${String(key).padStart(2, "0")}`;
}

function chunkOf(c: { t: number; id: number }, withHash: boolean) {
  return { minTime: BigInt(c.t * 10), maxTime: BigInt(c.t * 10 + 9), raw: { data: new Uint8Array([c.t, c.id]), hash: withHash ? BigInt(c.t * 100 + c.id + 1) : 0n } };
}

function framesOf(store: Gen[], mode: number, withHash: boolean): SeriesResponse[] {
  const out: SeriesResponse[] = [];
  const series = store.map((g) => ({ labels: [{ name: "k", value: labelOf(g.key) }], chunks: g.chunks.map((c) => chunkOf(c, withHash)) }));
  if (mode === 1) {
    // Batches of 3.
    for (let i = 0; i < series.length; i += 3) out.push(create(SeriesResponseSchema, { result: { case: "batch", value: { series: series.slice(i, i + 3) } } }));
  } else if (mode === 2) {
    // Each series split into one frame per chunk.
    for (const s of series) {
      if (s.chunks.length === 0) out.push(create(SeriesResponseSchema, { result: { case: "series", value: s } }));
      for (const c of s.chunks) out.push(create(SeriesResponseSchema, { result: { case: "series", value: { labels: s.labels, chunks: [c] } } }));
    }
  } else {
    for (const s of series) out.push(create(SeriesResponseSchema, { result: { case: "series", value: s } }));
  }
  return out;
}

describe("fan-out merge (property)", () => {
  it("yields the sorted union with distinct chunks ordered by time", async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(storeArb, fc.integer({ min: 0, max: 2 }), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 12 }), async (stores, limit) => {
      const fanStores = stores.map(([gens, mode, withHash, warn], i) => ({
        name: `store${i}`,
        async *series() {
          const frames = framesOf(gens, mode, withHash);
          // A warning somewhere in the middle of the stream.
          if (warn) frames.splice(Math.floor(frames.length / 2), 0, create(SeriesResponseSchema, { result: { case: "warning", value: `w${i}` } }));
          yield* frames;
        },
      }));
      const { series, warnings } = await collectSeries(fanoutSeries(fanStores, create(SeriesRequestSchema, { limit: BigInt(limit) }), { readAhead: 2 }));
      if (limit === 0) expect([...warnings].sort()).toEqual(stores.flatMap(([, , , warn], i) => (warn ? [`w${i}`] : [])).sort());
      // Expected: union by label, distinct (t,id) per label, sorted by t (ids of equal t keep first-seen order is not
      // required, so compare as sorted sets within equal times).
      const want = new Map<string, Set<string>>();
      for (const [gens] of stores) for (const g of gens) {
        const set = want.get(labelOf(g.key)) ?? new Set<string>();
        for (const c of g.chunks) set.add(`${c.t}:${c.id}`);
        want.set(labelOf(g.key), set);
      }
      const all = [...want.keys()].sort();
      const wantKeys = limit > 0 ? all.slice(0, limit) : all;
      expect(series.map((s) => s.labels[0]!.value)).toEqual(wantKeys);
      for (const s of series) {
        const got = s.chunks.map((c) => `${c.raw!.data[0]}:${c.raw!.data[1]}`);
        expect([...got].sort()).toEqual([...want.get(s.labels[0]!.value)!].sort());
        const times = s.chunks.map((c) => Number(c.minTime));
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }
    }), { numRuns: 300 });
  });
});
