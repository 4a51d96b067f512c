/**
 * `npm run bench -- xor [series] [chunksPerSeries]`: WASM XOR decode throughput on a realistic
 * workload — 120-sample chunks, 15 s scrape interval with a few ms of jitter, half gauges (random
 * walk with two decimals) and half counters (monotonic, occasional resets).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadWasm, packageRoot } from "../src/runtime/node/load-wasm.ts";
import type { MeridianWasm } from "../src/wasm/module.ts";
import { encodeXorChunk } from "../src/tsdb/xor-encoder.ts";
import { decodeXorChunks, xorChunkSampleCount } from "../src/wasm/xor.ts";
import { report, withPeakRss } from "./report.ts";
import { createPrng as rng } from "../src/demo/prng.ts";

const SAMPLES_PER_CHUNK = 120;

function makeChunks(series: number, chunksPerSeries: number): Uint8Array[] {
  const rand = rng(42);
  const out: Uint8Array[] = [];
  const t = new Float64Array(SAMPLES_PER_CHUNK);
  const v = new Float64Array(SAMPLES_PER_CHUNK);
  for (let s = 0; s < series; s++) {
    const counter = s % 2 === 1;
    let ts = 1_700_000_000_000 + Math.floor(rand() * 15_000);
    let value = counter ? Math.floor(rand() * 1e6) : Math.round(rand() * 10_000) / 100;
    for (let c = 0; c < chunksPerSeries; c++) {
      for (let i = 0; i < SAMPLES_PER_CHUNK; i++) {
        t[i] = ts;
        v[i] = value;
        ts += 15_000 + Math.round((rand() - 0.5) * 10); // scrape jitter of a few ms
        if (counter) value = rand() < 0.001 ? 0 : value + Math.floor(rand() * 50);
        else value = Math.round((value + (rand() - 0.5) * 4) * 100) / 100;
      }
      out.push(encodeXorChunk(t, v));
    }
  }
  return out;
}

/** Runs the benchmark and prints its figures. */
export default async function (args: string[]): Promise<void> {
  const series = Number(args[0] ?? 2000);
  const chunksPerSeries = Number(args[1] ?? 10);
  const wasm = await loadWasm();
  const chunks = makeChunks(series, chunksPerSeries);
  const samples = chunks.reduce((n, c) => n + xorChunkSampleCount(c), 0);
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  report("xor_chunks", chunks.length, "chunks");
  report("xor_bytes_per_sample", bytes / samples, "B/sample");

  // End to end through decodeXorChunks: copy into linear memory + decode, batches of 1000 chunks.
  const batch = 1000;
  const runE2e = () => {
    let n = 0;
    for (let i = 0; i < chunks.length; i += batch) n += decodeXorChunks(wasm, chunks.slice(i, i + batch)).total;
    return n;
  };
  for (let i = 0; i < 3; i++) runE2e(); // warm up
  const { result: e2e, peakRss } = await withPeakRss(() => {
    let best = Infinity;
    for (let r = 0; r < 10; r++) {
      const t0 = performance.now();
      const n = runE2e();
      const dt = performance.now() - t0;
      if (n !== samples) throw new Error(`decoded ${n} samples, expected ${samples}`);
      best = Math.min(best, dt);
    }
    return best;
  });
  report("xor_decode_samples_per_sec", Math.round(samples / (e2e / 1000)), "samples/s");
  report("xor_decode_ns_per_sample", (e2e * 1e6) / samples, "ns/sample");

  const kernelRate = kernelSamplesPerSec(wasm, chunks, samples);
  report("xor_kernel_samples_per_sec", Math.round(kernelRate), "samples/s");
  report("xor_kernel_ns_per_sample", 1e9 / kernelRate, "ns/sample");

  // The same kernel over real chunks: every chunk of the scraped Prometheus 2.42 fixture blocks.
  const real = fixtureChunks();
  if (real.length > 0) {
    const realSamples = real.reduce((n, c) => n + xorChunkSampleCount(c), 0);
    const realBytes = real.reduce((n, c) => n + c.length, 0);
    const rate = kernelSamplesPerSec(wasm, real, realSamples);
    report("xor_real_bytes_per_sample", realBytes / realSamples, "B/sample");
    report("xor_real_chunks", real.length, "chunks");
    let bestE2e = Infinity;
    for (let r = 0; r < 13; r++) {
      const t0 = performance.now();
      const n = decodeXorChunks(wasm, real).total;
      if (r >= 3) bestE2e = Math.min(bestE2e, performance.now() - t0);
      if (n !== realSamples) throw new Error(`decoded ${n} real samples, expected ${realSamples}`);
    }
    report("xor_real_decode_samples_per_sec", Math.round(realSamples / (bestE2e / 1000)), "samples/s");
    report("xor_real_kernel_samples_per_sec", Math.round(rate), "samples/s");
    report("xor_real_kernel_ns_per_sample", 1e9 / rate, "ns/sample");
  }
  report("xor_wasm_memory_bytes", wasm.memory.buffer.byteLength, "bytes");
  report("xor_peak_rss_bytes", peakRss, "bytes");
}

/** Samples/s of xorDecodeBatch alone (chunks already in linear memory), best of 10 runs. */
function kernelSamplesPerSec(wasm: MeridianWasm, chunks: readonly Uint8Array[], samples: number): number {
  const bytes = chunks.reduce((n, c) => n + c.length, 0);
  const pad = (wasm.exports.XOR_PADDING.value as number) >>> 0;
  wasm.reset();
  const input = wasm.alloc(bytes + pad);
  const workCap = ((Math.max(...chunks.map((c) => c.length)) + 15) & ~15) + pad;
  const work = wasm.alloc(workCap);
  const table = wasm.alloc(chunks.length * 8);
  const counts = wasm.alloc(chunks.length * 4);
  const err = wasm.alloc(16);
  const outT = wasm.alloc(samples * 8);
  const outV = wasm.alloc(samples * 8);
  const mem = wasm.u8(input, bytes + pad);
  const tab = wasm.u32(table, chunks.length * 2);
  let off = 0;
  chunks.forEach((c, i) => {
    mem.set(c, off);
    tab[2 * i] = off;
    tab[2 * i + 1] = c.length;
    off += c.length;
  });
  const kernel = () =>
    wasm.exports.xorDecodeBatch(input, bytes, table, chunks.length, work, workCap, outT, outV, samples, counts, 0, -Infinity, Infinity, err);
  const reps = Math.max(1, Math.ceil(2_000_000 / samples)); // time at least ~2M samples per run
  for (let i = 0; i < 3; i++) kernel();
  let best = Infinity;
  for (let r = 0; r < 10; r++) {
    const t0 = performance.now();
    for (let k = 0; k < reps; k++) {
      const n = kernel();
      if (n !== samples) throw new Error(`kernel decoded ${n} samples, expected ${samples}`);
    }
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return samples / (best / 1000);
}

/** XOR chunks of the scraped fixture blocks, read record by record from their segment files. */
function fixtureChunks(): Uint8Array[] {
  const dir = join(packageRoot(), "test", "fixtures", "blocks", "prometheus-2.42-scraped");
  const out: Uint8Array[] = [];
  let blocks: string[];
  try {
    blocks = readdirSync(dir).filter((d) => /^[0-9A-Z]{26}$/.test(d));
  } catch {
    return out;
  }
  for (const b of blocks) {
    for (const f of readdirSync(join(dir, b, "chunks")).sort()) {
      const seg = new Uint8Array(readFileSync(join(dir, b, "chunks", f)));
      let p = 8;
      while (p < seg.length) {
        let len = 0;
        let shift = 0;
        for (;;) {
          const x = seg[p++]!;
          len += (x & 0x7f) * 2 ** shift;
          shift += 7;
          if (x < 0x80) break;
        }
        const enc = seg[p++];
        if (enc === 1) out.push(seg.slice(p, p + len));
        p += len + 4;
      }
    }
  }
  return out;
}
