import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { AggrChunkSchema, ChunkSchema, Chunk_Encoding, SeriesSchema } from "../gen/store/storepb/types_pb.ts";
import type { Series } from "../gen/store/storepb/types_pb.ts";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import { encodeXorChunk } from "../tsdb/xor-encoder.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { decodeDedupXorSeries } from "./dedup-xor.ts";
import { splitReplicaRuns } from "./replica-split.ts";
import { decodeAndDedup, decodeSeriesStream, replicaRunsOf } from "./store-queryable.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

const T0 = 1_700_000_000_000;
const CHUNK = 120;

// Replica r of series i: a counter every 15 s (phase 5 s per replica), with a per-replica gap.
function replicaChunks(i: number, r: number, samples: number): { minTime: number; maxTime: number; data: Uint8Array }[] {
  const t: number[] = [];
  const v: number[] = [];
  const gapFrom = ((i * 37 + r * 101) % samples) - 20;
  let c = i;
  for (let k = 0; k < samples; k++) {
    c += (k * 7 + i) % 13;
    if (k >= gapFrom && k < gapFrom + 20) continue;
    t.push(T0 + k * 15_000 + r * 5_000);
    v.push(c);
  }
  const out = [];
  for (let a = 0; a < t.length; a += CHUNK) {
    const b = Math.min(t.length, a + CHUNK);
    out.push({ minTime: t[a]!, maxTime: t[b - 1]!, data: encodeXorChunk(t, v, a, b) });
  }
  return out;
}

function seriesOf(i: number, samples: number): Series {
  const chunks = [0, 1]
    .flatMap((r) => replicaChunks(i, r, samples))
    .sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime)
    .map((c) =>
      create(AggrChunkSchema, {
        minTime: BigInt(c.minTime),
        maxTime: BigInt(c.maxTime),
        raw: create(ChunkSchema, { type: Chunk_Encoding.XOR, data: c.data }),
      }),
    );
  return create(SeriesSchema, { labels: [{ $typeName: "thanos.Label", name: "i", value: String(i).padStart(4, "0") }], chunks });
}

// Reference: every series in one decodeDedupXorSeries call (no batching).
function reference(series: readonly Series[], mint: number, maxt: number): { t: number[]; v: number[] }[] {
  const reps = series.map((s) =>
    splitReplicaRuns(s.chunks.map((c) => ({ minTime: Number(c.minTime), maxTime: Number(c.maxTime), data: c.raw!.data }))).map((run) => run.map((c) => c.data)),
  );
  return decodeDedupXorSeries(wasm, reps, { mode: "penalty", counter: true, mint, maxt }).map((x) => ({ t: [...x.t], v: [...x.v] }));
}

const plain = (xs: readonly { t: Float64Array; v: Float64Array }[]) => xs.map((x) => ({ t: [...x.t], v: [...x.v] }));

describe("store-queryable decoding", () => {
  const hints = { start: T0 + 600_000, end: T0 + 1_000 * 15_000, step: 60_000, range: 300_000, func: "rate" };

  it("decodeAndDedup gives the same samples when a select spans many cache-sized batches", () => {
    // 40 series x 2 replicas x 1000 samples: well over one 32k-sample batch.
    const series = Array.from({ length: 40 }, (_, i) => seriesOf(i, 1000));
    const got = decodeAndDedup(wasm, series, hints, "penalty");
    expect(got.map((s) => s.labels[0]!.value)).toEqual(series.map((s) => s.labels[0]!.value));
    expect(plain(got)).toEqual(reference(series, hints.start, hints.end));
    expect(got.reduce((a, s) => a + s.t.length, 0)).toBeGreaterThan(30_000);
  });

  it("decodeSeriesStream decodes batches as frames arrive, keeps order and warnings", async () => {
    const series = Array.from({ length: 25 }, (_, i) => seriesOf(i, 300));
    let consumed = 0;
    async function* frames(): AsyncGenerator<SeriesResponse> {
      yield { $typeName: "thanos.SeriesResponse", result: { case: "warning", value: "store b: partial" } };
      for (let i = 0; i < series.length; i += 4) {
        consumed = i;
        yield { $typeName: "thanos.SeriesResponse", result: { case: "batch", value: { $typeName: "thanos.SeriesBatch", series: series.slice(i, i + 4) } } };
      }
      yield { $typeName: "thanos.SeriesResponse", result: { case: "series", value: seriesOf(99, 300) } };
    }
    // A batch of ~1000 samples: several decode batches before the stream ends.
    const got = await decodeSeriesStream(wasm, frames(), hints, "penalty", 1000);
    expect(consumed).toBe(24);
    expect(got.warnings).toEqual(["store b: partial"]);
    expect(got.series.map((s) => s.labels[0]!.value)).toEqual([...series.map((s) => s.labels[0]!.value), "0099"]);
    expect(plain(got.series)).toEqual(reference([...series, seriesOf(99, 300)], hints.start, hints.end));
  });

  it("decodeSeriesStream stops the stream when a chunk cannot be decoded", async () => {
    const bad = seriesOf(1, 300);
    // The first chunk of the replica the output follows first: it has to be decoded.
    bad.chunks[0]!.raw!.data = bad.chunks[0]!.raw!.data.slice(0, 9);
    let closed = false;
    async function* frames(): AsyncGenerator<SeriesResponse> {
      try {
        yield { $typeName: "thanos.SeriesResponse", result: { case: "series", value: bad } };
        yield { $typeName: "thanos.SeriesResponse", result: { case: "series", value: seriesOf(2, 300) } };
      } finally {
        closed = true;
      }
    }
    await expect(decodeSeriesStream(wasm, frames(), hints, "penalty", 10)).rejects.toThrow(/corrupt XOR chunk/);
    expect(closed).toBe(true);
  });

  it("replicaRunsOf splits chunks into the same runs as splitReplicaRuns, sorted input or not", () => {
    const chunk = fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 20 }));
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 30 }), fc.boolean(), (spans, sort) => {
        const list = spans.map(([from, len], i) => ({ minTime: from, maxTime: from + len, data: Uint8Array.of(i >> 8, i & 255) }));
        if (sort) list.sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
        const s = create(SeriesSchema, {
          chunks: list.map((c) =>
            create(AggrChunkSchema, { minTime: BigInt(c.minTime), maxTime: BigInt(c.maxTime), raw: create(ChunkSchema, { type: Chunk_Encoding.XOR, data: c.data }) }),
          ),
        });
        const want = splitReplicaRuns(list).map((run) => run.map((c) => [...c.data]));
        expect(replicaRunsOf(s).map((run) => run.chunks.map((d) => [...d]))).toEqual(want);
        expect(replicaRunsOf(s).map((run) => run.minT)).toEqual(splitReplicaRuns(list).map((run) => run.map((c) => c.minTime)));
      }),
      { numRuns: 500 },
    );
  });
});
