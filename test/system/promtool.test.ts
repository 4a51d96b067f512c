/**
 * End to end with Debian's promtool and prometheus 2.42:
 * (a) promtool builds blocks from OpenMetrics text; Meridian's reader + WASM decoder read them back
 *     bit for bit, and Meridian's writer reproduces promtool's chunk and index files byte for byte;
 * (b) a Meridian-written block passes `promtool tsdb analyze` / `list` and `promtool tsdb dump`
 *     prints exactly the samples written (NaN and stale markers print as NaN);
 * (c) a real prometheus server loads the Meridian block and answers query_range and raw range
 *     selectors with exactly the written samples (stale markers hidden as PromQL does).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatLabels, labelsFromRecord, type Labels } from "../../src/model/labels.ts";
import { isStaleMarker, type FloatSeries } from "../../src/model/series.ts";
import { loadWasm } from "../../src/runtime/node/load-wasm.ts";
import { writeBlockDir } from "../../src/runtime/node/write-block-dir.ts";
import { openBlock, readSeries } from "../../src/tsdb/block.ts";
import { writeBlock } from "../../src/tsdb/block-writer.ts";
import { createMemoryReader } from "../../src/tsdb/byte-range-reader.ts";
import { isUlid } from "../../src/tsdb/meta.ts";
import { decodeXorChunksToSeries } from "../../src/wasm/xor.ts";
import {
  findBinary, openMetricsFloat, openMetricsSeries, parseGoFloat, parsePromtoolDump, printedValueMatches,
  promApi, runPromtool, startPrometheus, type RunningPrometheus,
} from "./helpers/promtool.ts";
import { makeTestSeries } from "./helpers/promtool-data.ts";

const havePromtool = findBinary("promtool") !== undefined;
const havePrometheus = findBinary("prometheus") !== undefined;
if (!havePromtool || !havePrometheus) {
  console.warn("SKIPPED promtool system tests: install Debian's `prometheus` package (promtool, prometheus) to run them");
}

const TWO_HOURS = 2 * 3600_000;
let work = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "meridian-promtool-"));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** Exact float64 bits as 16 hex digits (distinguishes stale markers, NaN payloads and -0). */
function bits(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0).toString(16).padStart(16, "0");
}
function bitsOf(arr: Float64Array): string[] {
  const w = new Uint32Array(arr.buffer, arr.byteOffset, arr.length * 2);
  const out: string[] = [];
  for (let i = 0; i < arr.length; i++) out.push(w[2 * i + 1]!.toString(16).padStart(8, "0") + w[2 * i]!.toString(16).padStart(8, "0"));
  return out;
}

/** Every series of a block directory, read with Meridian's reader and decoded by the WASM kernel. */
async function readBlockDir(dir: string): Promise<{ ulid: string; series: { labels: Labels; t: number[]; v: string[] }[] }> {
  const block = await openBlock(async (rel) => {
    try {
      return createMemoryReader(`${dir}/${rel}`, new Uint8Array(await readFile(join(dir, rel))));
    } catch {
      return null;
    }
  });
  const wasm = await loadWasm();
  const series = await readSeries(block, [], -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return {
    ulid: block.meta.ulid,
    series: series.map((s) => {
      const d = decodeXorChunksToSeries(wasm, s.chunks.map((c) => c.data));
      return { labels: s.labels, t: [...d.t], v: bitsOf(d.v) };
    }),
  };
}

async function blockDirs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(isUlid).sort();
}

describe.skipIf(!havePromtool)("promtool tsdb create-blocks-from openmetrics → Meridian", () => {
  it("reads promtool's blocks back bit for bit and re-writes them byte for byte", async () => {
    const start = 1_790_000_000_000 - (1_790_000_000_000 % TWO_HOURS) + 1_234; // crosses 2h windows
    const input = makeTestSeries(start, 5, 7, false);
    const lines: string[] = [];
    for (const s of input) {
      const name = openMetricsSeries(s.labels);
      for (let i = 0; i < s.t.length; i++) lines.push(`${name} ${openMetricsFloat(s.v[i]!)} ${(s.t[i]! / 1000).toFixed(3)}`);
    }
    lines.push("# EOF");
    const dir = join(work, "openmetrics");
    await mkdir(dir, { recursive: true });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(dir, "input.om"), lines.join("\n") + "\n");
    await runPromtool(["tsdb", "create-blocks-from", "openmetrics", "-q", join(dir, "input.om"), join(dir, "out")]);
    const ulids = await blockDirs(join(dir, "out"));
    expect(ulids.length).toBe(3); // 5 h from just after a 2 h boundary

    // Concatenate every block's series (blocks in time order) and compare with the input bits.
    const got = new Map<string, { t: number[]; v: string[] }>();
    for (const ulid of ulids) {
      const block = await readBlockDir(join(dir, "out", ulid));
      for (const s of block.series) {
        const key = formatLabels(s.labels);
        const acc = got.get(key) ?? { t: [], v: [] };
        acc.t.push(...s.t);
        acc.v.push(...s.v);
        got.set(key, acc);
      }
    }
    expect([...got.keys()].sort()).toEqual(input.map((s) => formatLabels(s.labels)).sort());
    let samples = 0;
    for (const s of input) {
      const g = got.get(formatLabels(s.labels))!;
      expect(g.t).toEqual([...s.t]);
      // OpenMetrics "NaN" parses to Go's NaN 0x7ff8000000000001; every other value keeps its bits.
      expect(g.v).toEqual(bitsOf(s.v).map((b, i) => (Number.isNaN(s.v[i]) ? "7ff8000000000001" : b)));
      samples += s.t.length;
    }
    expect(samples).toBeGreaterThan(5000);

    // Meridian's writer, given the same samples per 2 h window, writes the same chunk and index bytes.
    for (const ulid of ulids) {
      const blockDir = join(dir, "out", ulid);
      const meta = JSON.parse(await readFile(join(blockDir, "meta.json"), "utf8")) as { minTime: number };
      const w0 = Math.floor(meta.minTime / TWO_HOURS) * TWO_HOURS;
      const window: FloatSeries[] = [];
      for (const s of input) {
        const idx = [...s.t.keys()].filter((i) => s.t[i]! >= w0 && s.t[i]! < w0 + TWO_HOURS);
        if (idx.length === 0) continue;
        const v = Float64Array.from(idx.map((i) => s.v[i]!));
        // promtool stores NaN as Go's NaN bits; give the writer the same bits.
        const w = new Uint32Array(v.buffer);
        idx.forEach((i, j) => { if (Number.isNaN(s.v[i])) { w[2 * j + 1] = 0x7ff80000; w[2 * j] = 1; } });
        window.push({ labels: s.labels, t: Float64Array.from(idx.map((i) => s.t[i]!)), v });
      }
      const mine = writeBlock(window, { ulid });
      expect(Buffer.from(mine.files.get("chunks/000001")!).equals(await readFile(join(blockDir, "chunks", "000001")))).toBe(true);
      expect(Buffer.from(mine.files.get("index")!).equals(await readFile(join(blockDir, "index")))).toBe(true);
      expect(Buffer.from(mine.files.get("meta.json")!).toString()).toBe(await readFile(join(blockDir, "meta.json"), "utf8"));
    }
  });
});

describe.skipIf(!havePromtool || !havePrometheus)("Meridian-written block → promtool and prometheus", () => {
  const start = 1_700_000_000_000 + 777;
  const input = makeTestSeries(start, 3, 11, true);
  let dataDir = "";
  let ulid = "";

  beforeAll(async () => {
    dataDir = join(work, "meridian-data");
    await mkdir(join(dataDir, "wal"), { recursive: true }); // promtool opens the dir as a DB
    const block = writeBlock(input, { chunking: { chunkRange: TWO_HOURS } });
    ulid = block.ulid;
    await writeBlockDir(dataDir, block);
  });

  it("passes promtool tsdb list and analyze", async () => {
    const list = await runPromtool(["tsdb", "list", dataDir]);
    const row = list.stdout.split("\n").find((l) => l.startsWith(ulid));
    expect(row, list.stdout).toBeDefined();
    const numSamples = input.reduce((n, s) => n + s.t.length, 0);
    const cols = row!.trim().split(/\s+/);
    expect(Number(cols[1])).toBe(start);
    expect(Number(cols[4])).toBe(numSamples);
    expect(Number(cols[6])).toBe(input.length);

    const analyze = await runPromtool(["tsdb", "analyze", "--extended", dataDir, ulid]);
    expect(analyze.stdout).toContain(`Block ID: ${ulid}`);
    expect(analyze.stdout).toContain(`Series: ${input.length}`);
    const names = new Set(input.flatMap((s) => s.labels.map((l) => l.name)));
    expect(analyze.stdout).toContain(`Label names: ${names.size}`);
    const pairs = new Set(input.flatMap((s) => s.labels.map((l) => `${l.name}=${l.value}`)));
    expect(analyze.stdout).toContain(`Postings (unique label pairs): ${pairs.size}`);
    expect(analyze.stdout).toContain("Compaction analysis:");
  });

  it("promtool tsdb dump prints exactly the samples written", async () => {
    const { stdout } = await runPromtool(["tsdb", "dump", dataDir]);
    const dumped = parsePromtoolDump(stdout);
    expect([...dumped.keys()].sort()).toEqual(input.map((s) => formatLabels(s.labels)).sort());
    let stale = 0;
    for (const s of input) {
      const d = dumped.get(formatLabels(s.labels))!;
      expect(d.t).toEqual([...s.t]);
      for (let i = 0; i < s.t.length; i++) {
        if (isStaleMarker(s.v[i]!)) stale++;
        if (!printedValueMatches(d.v[i]!, s.v[i]!)) {
          throw new Error(`${formatLabels(s.labels)} sample ${i} at ${s.t[i]}: dump printed ${d.v[i]}, wrote ${bits(s.v[i]!)}`);
        }
      }
    }
    expect(stale).toBeGreaterThan(5); // stale markers are stored and dumped (as NaN)
  });

  describe("prometheus server over the block", () => {
    let prom: RunningPrometheus | undefined;
    beforeAll(async () => {
      const tsdb = join(work, "prom-tsdb");
      await mkdir(tsdb, { recursive: true });
      await cp(join(dataDir, ulid), join(tsdb, ulid), { recursive: true });
      prom = await startPrometheus(tsdb, work);
    });
    afterAll(async () => {
      await prom?.stop();
    });

    it("query_range returns the last sample within the 5m lookback at every step, stale markers ending series", async () => {
      const end = start + 3 * 3600_000 + 120_000;
      const step = 60_000;
      for (const s of input) {
        const data = await promApi<{ resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] }>(
          prom!.url, "/api/v1/query_range",
          { query: `{__name__="${s.labels.find((l) => l.name === "__name__")!.value}"}`, start: String(start / 1000), end: String(end / 1000), step: "60" },
        );
        const want = new Map<string, [number, string][]>();
        for (const other of input.filter((o) => o.labels.find((l) => l.name === "__name__")!.value === s.labels.find((l) => l.name === "__name__")!.value)) {
          want.set(formatLabels(other.labels), expectedSteps(other, start, end, step));
        }
        expect(data.resultType).toBe("matrix");
        const got = new Map(data.result.map((r) => [formatLabels(labelsFromRecord(r.metric)), r.values]));
        for (const [key, w] of want) {
          const g = got.get(key) ?? [];
          expect(g.map(([t]) => Math.round(t * 1000)), key).toEqual(w.map(([t]) => t));
          g.forEach(([, printed], i) => {
            const expected = parseGoFloat(w[i]![1]);
            if (!(Number.isNaN(expected) ? printed === "NaN" : Object.is(parseGoFloat(printed), expected))) {
              throw new Error(`${key} at ${w[i]![0]}: prometheus ${printed}, expected ${w[i]![1]}`);
            }
          });
        }
      }
    });

    it("a raw range selector returns every written sample (stale markers skipped, as PromQL does)", async () => {
      const at = start + 3 * 3600_000 + 60_000;
      for (const s of input) {
        const sel = `{${s.labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(",")}}[4h]`;
        const data = await promApi<{ resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] }>(
          prom!.url, "/api/v1/query", { query: sel, time: String(at / 1000) },
        );
        expect(data.result.length, sel).toBe(1);
        const keep = [...s.t.keys()].filter((i) => !isStaleMarker(s.v[i]!));
        const got = data.result[0]!.values;
        expect(got.map(([t]) => Math.round(t * 1000))).toEqual(keep.map((i) => s.t[i]!));
        got.forEach(([, printed], j) => expect(printedValueMatches(printed, s.v[keep[j]!]!), `${sel} #${j}: ${printed}`).toBe(true));
      }
    });
  });
});

describe.skipIf(!havePromtool)("Meridian block with many chunk segments and a Thanos section → promtool", () => {
  it("promtool dump reads every segment and ignores the thanos meta section", async () => {
    const dir = join(work, "multi-segment");
    await mkdir(join(dir, "wal"), { recursive: true });
    const input = makeTestSeries(1_650_000_000_000, 2, 5, true);
    const block = writeBlock(input, { segmentSize: 4096, thanos: { labels: { cluster: "eu", replica: "a" }, source: "test" } });
    const segments = [...block.files.keys()].filter((k) => k.startsWith("chunks/"));
    expect(segments.length).toBeGreaterThan(3);
    await writeBlockDir(dir, block);
    const { stdout } = await runPromtool(["tsdb", "dump", dir]);
    const dumped = parsePromtoolDump(stdout);
    for (const s of input) {
      const d = dumped.get(formatLabels(s.labels));
      expect(d, formatLabels(s.labels)).toBeDefined();
      expect(d!.t).toEqual([...s.t]);
      d!.v.forEach((printed, i) => expect(printedValueMatches(printed, s.v[i]!), `${formatLabels(s.labels)} #${i}`).toBe(true));
    }
  });
});

/** Prometheus 2.x instant-selector semantics per step: newest sample in [ts-5m, ts]; stale → none. */
function expectedSteps(s: FloatSeries, start: number, end: number, step: number): [number, string][] {
  const out: [number, string][] = [];
  let j = -1;
  for (let ts = start; ts <= end; ts += step) {
    while (j + 1 < s.t.length && s.t[j + 1]! <= ts) j++;
    if (j < 0 || s.t[j]! < ts - 300_000 || isStaleMarker(s.v[j]!)) continue;
    const v = s.v[j]!;
    out.push([ts, Number.isNaN(v) ? "NaN" : openMetricsFloat(v).replace("-0.0", "-0")]);
  }
  return out;
}
