/**
 * `npm run bench -- store-path [--series=N] [--hours=H] [--runs=R]`: the querier's select path cut
 * into stages, all in one process without gRPC, so each stage can be timed on its own:
 *
 * 1. store Series: two bucket stores (HA replicas a and b, N counter series each, H hours in 2 h
 *    blocks in memory buckets) answer a 6 h SeriesRequest with 64-series batches (index cache warm);
 * 2. + encode: the same, with every frame turned into its wire bytes as the gRPC server does
 *    (toRawSeriesResponse: the store's pre-encoded bytes, or the hand-written series codec);
 * 3. decode: the encoded batches decoded back (what the querier's client does);
 * 4. decode + dedup: every series' chunks decoded in WASM and the replicas merged by penalty dedup
 *    (the store-queryable's decodeAndDedup over the merged series).
 *
 * Figures are the fastest of R runs (the machine is shared: the minimum is the least disturbed
 * run), in ms and as input samples/s. Use it to see which stage a change helps; `bench query` is
 * the end-to-end figure.
 */
import { labelsFromRecord } from "../src/model/labels.ts";
import { createMatcher } from "../src/model/matcher.ts";
import type { FloatSeries } from "../src/model/series.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import type { Series } from "../src/gen/store/storepb/types_pb.ts";
import { decodeAndDedup, seriesRequestFor } from "../src/query/store-queryable.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { toRawSeriesResponse } from "../src/server/raw-series.ts";
import { decodeSeriesBatch } from "../src/server/series-codec.ts";
import { createBucketStore, type BucketStore } from "../src/store/bucket-store.ts";
import { writeBlock } from "../src/tsdb/block-writer.ts";
import { numberFlag } from "./flags.ts";
import { report } from "./report.ts";

const SCRAPE = 15_000;
const BLOCK = 2 * 3600_000;


/** N counters scraped every 15 s; replica b is offset by 5 s, as two Prometheus replicas are. */
function replicaSeries(n: number, start: number, end: number, replica: number): FloatSeries[] {
  const out: FloatSeries[] = [];
  for (let i = 0; i < n; i++) {
    const t: number[] = [];
    const v: number[] = [];
    let c = 0;
    for (let ts = start + 1_000 + replica * 5_000; ts < end; ts += SCRAPE) {
      c += (i * 7 + ts / SCRAPE) % 100;
      t.push(ts);
      v.push(c);
    }
    out.push({
      labels: labelsFromRecord({ __name__: "http_requests_total", instance: `10.0.${Math.floor(i / 250)}.${i % 250}:9090`, job: `job-${i % 11}` }),
      t: Float64Array.from(t),
      v: Float64Array.from(v),
    });
  }
  return out;
}

async function storeFor(data: FloatSeries[], start: number, end: number, replica: string, wasm: Awaited<ReturnType<typeof loadWasm>>): Promise<BucketStore> {
  const bucket = createMemoryBucket(`store-path-${replica}`);
  for (let w = start; w < end; w += BLOCK) {
    const part: FloatSeries[] = [];
    for (const s of data) {
      let a = 0;
      while (a < s.t.length && s.t[a]! < w) a++;
      let b = a;
      while (b < s.t.length && s.t[b]! < w + BLOCK) b++;
      if (b > a) part.push({ labels: s.labels, t: s.t.subarray(a, b), v: s.v.subarray(a, b) });
    }
    const block = writeBlock(part, { minTime: w, maxTime: w + BLOCK, thanos: { labels: { cluster: "eu", replica }, source: "sidecar" } });
    for (const [rel, body] of block.files) if (rel !== "meta.json") await bucket.upload(`${block.ulid}/${rel}`, body);
    await bucket.upload(`${block.ulid}/meta.json`, block.files.get("meta.json")!);
  }
  const store = createBucketStore({ bucket, metrics: createMetricsRegistry(), wasm });
  await store.sync();
  return store;
}

async function fastest(runs: number, fn: () => Promise<void> | void): Promise<number> {
  await fn(); // warm-up
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export default async function (args: string[]): Promise<void> {
  const n = numberFlag(args, "series", 500);
  const hours = numberFlag(args, "hours", 12);
  const runs = numberFlag(args, "runs", 10);
  const wasm = await loadWasm();
  const end = Math.floor(Date.UTC(2026, 0, 1) / BLOCK) * BLOCK;
  const start = end - hours * 3600_000;
  const stores = [
    await storeFor(replicaSeries(n, start, end, 0), start, end, "a", wasm),
    await storeFor(replicaSeries(n, start, end, 1), start, end, "b", wasm),
  ];

  const hints = { start: end - Math.min(6, hours) * 3600_000 - 300_000, end, step: 60_000, range: 300_000, func: "rate" };
  const req = seriesRequestFor([createMatcher("=", "__name__", "http_requests_total")], hints, { dedup: true, replicaLabels: ["replica"], partialResponse: true });
  req.responseBatchSize = 64n;

  // Stage 1/2: the stores' Series streams, optionally encoded as the gRPC server does.
  let frames: Uint8Array[] = [];
  const series = async (encode: boolean): Promise<void> => {
    const out: Uint8Array[] = [];
    for (const st of stores) {
      for await (const f of st.storeApi.series(req, new AbortController().signal)) {
        if (!encode) continue;
        // What the gRPC server sends: the raw frame (pre-encoded bytes when the store made them).
        const raw = toRawSeriesResponse(f);
        if (raw.result.case === "batch") out.push(raw.result.value);
      }
    }
    frames = out;
  };
  const storeMs = await fastest(runs, () => series(false));
  const encodeMs = await fastest(runs, () => series(true));

  // Stage 3: client decode. Stage 4: merge the two replicas by labels, decode + dedup in WASM.
  let decoded: Series[] = [];
  const decodeMs = await fastest(runs, () => {
    decoded = frames.flatMap((f) => decodeSeriesBatch(f));
  });
  const byLabels = new Map<string, Series>();
  for (const s of decoded) {
    const key = s.labels.map((l) => `${l.name}=${l.value}`).join(",");
    const had = byLabels.get(key);
    if (had) had.chunks.push(...s.chunks);
    else byLabels.set(key, { ...s, chunks: [...s.chunks] });
  }
  const merged = [...byLabels.values()];
  for (const s of merged) s.chunks.sort((a, b) => (a.minTime < b.minTime ? -1 : a.minTime > b.minTime ? 1 : 0));
  let samples = 0;
  for (const s of merged) for (const c of s.chunks) samples += ((c.raw!.data[0]! << 8) | c.raw!.data[1]!);
  const dedupMs = await fastest(runs, () => {
    decodeAndDedup(wasm, merged, hints, "penalty");
  });

  report("store_path_input_series", decoded.length, "series");
  report("store_path_input_chunks", decoded.reduce((a, s) => a + s.chunks.length, 0), "chunks");
  report("store_path_input_samples", samples, "samples");
  report("store_path_series_ms", storeMs, "ms");
  report("store_path_series_encode_ms", encodeMs, "ms");
  report("store_path_client_decode_ms", decodeMs, "ms");
  report("store_path_decode_dedup_ms", dedupMs, "ms");
  report("store_path_total_ms", encodeMs + decodeMs + dedupMs, "ms");
  report("store_path_throughput", samples / ((encodeMs + decodeMs + dedupMs) / 1000), "samples/s");
}
