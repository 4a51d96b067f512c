/**
 * `npm run bench -- dedup [series] [hours]`: HA deduplication throughput. Each series has two
 * replicas scraped every 15 s with a few ms of jitter and different phase; each replica misses
 * a few minutes somewhere (restarts), so the penalty algorithm has to switch replicas.
 * Figures are input samples (both replicas) per second, end to end through src/query/dedup.ts.
 */
import { dedupSamples, type SampleArrays } from "../src/query/dedup.ts";
import { decodeDedupXorSeries } from "../src/query/dedup-xor.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { encodeXorChunk } from "../src/tsdb/xor-encoder.ts";
import { decodeXorSeriesBatch } from "../src/wasm/xor.ts";
import { report } from "./report.ts";
import { createPrng as rng } from "../src/demo/prng.ts";

function replica(rand: () => number, start: number, end: number, phase: number, counter: boolean): SampleArrays {
  const gapFrom = start + rand() * (end - start);
  const gapTo = gapFrom + 60_000 + rand() * 300_000;
  const t: number[] = [];
  const v: number[] = [];
  let value = Math.floor(rand() * 1000);
  for (let ts = start + phase; ts <= end; ts += 15_000) {
    const jittered = ts + Math.round((rand() - 0.5) * 10);
    value = counter ? value + Math.floor(rand() * 20) : Math.round((value + rand() - 0.5) * 100) / 100;
    if (jittered >= gapFrom && jittered < gapTo) continue;
    t.push(jittered);
    v.push(value);
  }
  return { t: Float64Array.from(t), v: Float64Array.from(v) };
}

/** Runs the benchmark and prints its figures. */
export default async function (args: string[]): Promise<void> {
  const nSeries = Number(args[0] ?? 2000);
  const hours = Number(args[1] ?? 2);
  const wasm = await loadWasm();
  const rand = rng(7);
  const start = 1_700_000_000_000;
  const end = start + hours * 3_600_000;
  const groups: SampleArrays[][] = [];
  for (let s = 0; s < nSeries; s++) {
    const counter = s % 2 === 1;
    groups.push([replica(rand, start, end, 0, counter), replica(rand, start, end, Math.floor(rand() * 15_000), counter)]);
  }
  const samples = groups.reduce((n, g) => n + g[0]!.t.length + g[1]!.t.length, 0);
  report("dedup_input_samples", samples, "samples");
  for (const [name, opts] of [
    ["penalty", { mode: "penalty" }],
    ["penalty_counter", { mode: "penalty", counter: true }],
    ["chain", { mode: "chain" }],
  ] as const) {
    let out = 0;
    const runOnce = () => {
      out = 0;
      for (const g of groups) out += dedupSamples(wasm, g, opts).t.length;
    };
    for (let i = 0; i < 3; i++) runOnce();
    let best = Infinity;
    for (let r = 0; r < 10; r++) {
      const t0 = performance.now();
      runOnce();
      best = Math.min(best, performance.now() - t0);
    }
    report(`dedup_${name}_samples_per_sec`, Math.round(samples / (best / 1000)), "samples/s");
    report(`dedup_${name}_output_ratio`, out / samples, "out/in");
  }

  // From XOR chunks (120 samples each) to deduplicated series: fused (two WASM calls for all
  // series) versus decode to JS arrays, then one dedup call per series.
  const chunked = groups.map((g) =>
    g.map((r) => {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < r.t.length; i += 120) chunks.push(encodeXorChunk(r.t, r.v, i, Math.min(r.t.length, i + 120)));
      return chunks;
    }),
  );
  const fused = () => decodeDedupXorSeries(wasm, chunked, { mode: "penalty" }).length;
  const separate = () => {
    const decoded = decodeXorSeriesBatch(wasm, chunked.flat());
    let n = 0;
    for (let i = 0; i < chunked.length; i++) n += dedupSamples(wasm, [decoded[2 * i]!, decoded[2 * i + 1]!], { mode: "penalty" }).t.length;
    return n;
  };
  for (const [name, fn] of [["fused", fused], ["separate", separate]] as const) {
    for (let i = 0; i < 3; i++) fn();
    let best = Infinity;
    for (let r = 0; r < 10; r++) {
      const t0 = performance.now();
      fn();
      best = Math.min(best, performance.now() - t0);
    }
    report(`dedup_xor_${name}_samples_per_sec`, Math.round(samples / (best / 1000)), "samples/s");
  }
}
