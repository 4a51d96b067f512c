import { describe, expect, it } from "vitest";
import { labelsFromRecord } from "../model/labels.ts";
import { chunkTableOf, seriesChunks, storeSeriesOf, type StoreChunk, type StoreSeries } from "./chunk-table.ts";
import { mergeRuns, mergeSeries, type SeriesBatches } from "./merge.ts";

const c = (mint: number, maxt: number, byte: number, hashLo = byte): StoreChunk => ({ mint, maxt, encoding: 1, data: new Uint8Array([byte, byte]), hashLo, hashHi: 0 });

async function* batches(...bs: StoreSeries[][]): AsyncGenerator<StoreSeries[]> {
  for (const b of bs) yield b;
}

const summary = (s: StoreSeries): [number, number, number][] => seriesChunks(s).map((x) => [x.mint, x.maxt, x.data[0]!]);

describe("store merge", () => {
  it("joins a series' runs from time-disjoint blocks in time order, whatever the block order", async () => {
    const a = labelsFromRecord({ job: "a" });
    const b = labelsFromRecord({ job: "b" });
    const late = [storeSeriesOf(a, [c(200, 299, 3), c(300, 399, 4)]), storeSeriesOf(b, [c(200, 299, 9)])];
    const early = [storeSeriesOf(a, [c(0, 99, 1), c(100, 199, 2)])];
    const out: StoreSeries[] = [];
    for await (const s of mergeSeries([batches(late) as SeriesBatches, batches(early) as SeriesBatches])) out.push(s);
    expect(out.map((s) => s.labels)).toEqual([a, b]);
    expect(summary(out[0]!)).toEqual([[0, 99, 1], [100, 199, 2], [200, 299, 3], [300, 399, 4]]);
    expect(out[0]!.runs.length).toBe(2); // disjoint runs are kept as they are, no copy
    expect(summary(out[1]!)).toEqual([[200, 299, 9]]);
  });

  it("merges overlapping runs chunk by chunk and drops exact duplicates (same range, hash and length)", () => {
    const t1 = chunkTableOf([c(0, 99, 1), c(100, 199, 2)]);
    const t2 = chunkTableOf([c(100, 199, 2), c(150, 250, 5), c(100, 199, 7, 8)]);
    const runs = mergeRuns([{ table: t2, from: 0, to: 3 }, { table: t1, from: 0, to: 2 }]);
    expect(runs.length).toBe(1);
    expect(summary({ labels: [], runs })).toEqual([[0, 99, 1], [100, 199, 2], [100, 199, 7], [150, 250, 5]]);
  });
});
