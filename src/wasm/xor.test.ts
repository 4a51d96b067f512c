import { beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_GROUPS, float64Hex, loadFixtureChunks, type FixtureChunk } from "../../test/fixtures/blocks/fixture-chunks.ts";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import type { MeridianWasm } from "./module.ts";
import { decodeXorChunks, decodeXorChunksToSeries, decodeXorSeriesBatch, XorChunkError } from "./xor.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

function expectDecodesLike(chunks: readonly FixtureChunk[]): number {
  const r = decodeXorChunks(wasm, chunks.map((c) => c.data));
  let i = 0;
  let stale = 0;
  chunks.forEach((c, ci) => {
    expect(r.counts[ci], `${c.group}/${c.block}@${c.offset} count`).toBe(c.samples.length);
    for (const [t, hex] of c.samples) {
      if (r.t[i] !== t || float64Hex(r.v, i) !== hex) {
        throw new Error(`${c.group}/${c.block}@${c.offset} sample ${i - r.starts[ci]!}: got [${r.t[i]}, ${float64Hex(r.v, i)}], want [${t}, ${hex}]`);
      }
      if (hex === "7ff0000000000002") stale++;
      i++;
    }
  });
  expect(r.total).toBe(i);
  return stale;
}

describe("decodeXorChunks on real Prometheus 2.42 blocks", () => {
  for (const group of FIXTURE_GROUPS) {
    it(`decodes every chunk of ${group} bit for bit`, () => {
      const chunks = loadFixtureChunks(group);
      expect(chunks.length).toBeGreaterThan(0);
      for (const c of chunks) expect(c.encoding).toBe(1);
      const stale = expectDecodesLike(chunks);
      if (group === "prometheus-2.42-scraped") expect(stale).toBe(566);
    });
  }

  it("decodes all groups in one batch and chunk by chunk alike", () => {
    const all = FIXTURE_GROUPS.flatMap((g) => loadFixtureChunks(g));
    expectDecodesLike(all);
    for (const c of all.slice(0, 50)) expectDecodesLike([c]);
  });

  it("keeps the stale marker distinct from an ordinary NaN", () => {
    const all = loadFixtureChunks("prometheus-2.42-scraped");
    const withStale = all.find((c) => c.samples.some(([, h]) => h === "7ff0000000000002"))!;
    const { v } = decodeXorChunksToSeries(wasm, [withStale.data]);
    const words = new Uint32Array(v.buffer);
    const idx = withStale.samples.findIndex(([, h]) => h === "7ff0000000000002");
    expect([words[idx * 2 + 1], words[idx * 2]]).toEqual([0x7ff00000, 0x00000002]);
    // Ordinary NaNs (Go's math.NaN(), 7ff8000000000001) keep their own payload.
    const withNaN = all.find((c) => c.samples.some(([, h]) => h === "7ff8000000000001"))!;
    const nanIdx = withNaN.samples.findIndex(([, h]) => h === "7ff8000000000001");
    const nanWords = new Uint32Array(decodeXorChunksToSeries(wasm, [withNaN.data]).v.buffer);
    expect([nanWords[nanIdx * 2 + 1], nanWords[nanIdx * 2]]).toEqual([0x7ff80000, 0x00000001]);
  });

  it("filters by [mint, maxt] and reports per-chunk counts", () => {
    const chunks = loadFixtureChunks("promtool-openmetrics-2.42");
    const allT = chunks.flatMap((c) => c.samples.map(([t]) => t));
    const mint = allT[Math.floor(allT.length / 3)]!;
    const maxt = allT[Math.floor((2 * allT.length) / 3)]!;
    const r = decodeXorChunks(wasm, chunks.map((c) => c.data), { mint, maxt });
    let i = 0;
    chunks.forEach((c, ci) => {
      const want = c.samples.filter(([t]) => t >= mint && t <= maxt);
      expect(r.counts[ci]).toBe(want.length);
      for (const [t, hex] of want) {
        expect([r.t[i], float64Hex(r.v, i)]).toEqual([t, hex]);
        i++;
      }
    });
    expect(r.total).toBe(i);
    expect(i).toBeGreaterThan(0);
  });

  it("decodes many series in one call into owned arrays", () => {
    const chunks = loadFixtureChunks("prometheus-2.42-scraped");
    const bySeries = new Map<string, FixtureChunk[]>();
    for (const c of chunks) {
      const key = c.block + JSON.stringify(c.series);
      bySeries.set(key, [...(bySeries.get(key) ?? []), c]);
    }
    const groups = [...bySeries.values()];
    const out = decodeXorSeriesBatch(wasm, groups.map((g) => g.map((c) => c.data)));
    decodeXorChunks(wasm, [chunks[0]!.data]); // reuse the module: owned arrays must not change
    groups.forEach((g, si) => {
      const want = g.flatMap((c) => c.samples);
      expect(out[si]!.t.length).toBe(want.length);
      want.forEach(([t, hex], i) => {
        if (out[si]!.t[i] !== t || float64Hex(out[si]!.v, i) !== hex) throw new Error(`series ${si} sample ${i}`);
      });
    });
  });

  it("drops overlapping samples when concatenating chunks of one series", () => {
    const c = loadFixtureChunks("promtool-openmetrics-2.42")[0]!;
    const { t, v } = decodeXorChunksToSeries(wasm, [c.data, c.data]);
    expect(t.length).toBe(c.samples.length);
    expect(float64Hex(v, t.length - 1)).toBe(c.samples.at(-1)![1]);
  });

  it("grows memory for large batches and recreates its views", () => {
    const chunk = loadFixtureChunks("promtool-openmetrics-2.42")[0]!;
    const before = wasm.memory.buffer.byteLength;
    const many = Array.from({ length: 40_000 }, () => chunk.data);
    const r = decodeXorChunks(wasm, many);
    expect(wasm.memory.buffer.byteLength).toBeGreaterThan(before);
    expect(r.total).toBe(40_000 * chunk.samples.length);
    const last = r.total - 1;
    expect([r.t[last], float64Hex(r.v, last)]).toEqual([chunk.samples.at(-1)![0], chunk.samples.at(-1)![1]]);
    const small = decodeXorChunks(wasm, [chunk.data]);
    expect(small.t[0]).toBe(chunk.samples[0]![0]);
  });

  it("handles empty input, empty chunks and a 1-sample chunk", () => {
    expect(decodeXorChunks(wasm, []).total).toBe(0);
    const r = decodeXorChunks(wasm, [new Uint8Array([0, 0])]);
    expect(r.total).toBe(0);
    expect(Array.from(r.counts)).toEqual([0]);
  });
});

describe("decodeXorChunks on corrupt input", () => {
  const chunks = () => loadFixtureChunks("promtool-openmetrics-2.42").concat(loadFixtureChunks("promtool-openmetrics-edgecases-2.42"));

  it("rejects every truncation, naming the chunk and a byte offset inside it", () => {
    let thrown = 0;
    for (const c of chunks().slice(0, 12)) {
      for (let len = 0; len < c.data.length; len++) {
        const cut = c.data.slice(0, len);
        try {
          const r = decodeXorChunks(wasm, [c.data, cut]);
          // Only dropping Go's trailing all-zero byte may still decode, and then to the same samples.
          expect(len).toBe(c.data.length - 1);
          expect(c.data[len]).toBe(0);
          expect(r.counts[1]).toBe(c.samples.length);
        } catch (err) {
          expect(err).toBeInstanceOf(XorChunkError);
          const e = err as XorChunkError;
          expect(e.chunkIndex).toBe(1);
          expect(e.byteOffset).toBeLessThanOrEqual(Math.max(len, 0) + 2);
          expect(e.message).toMatch(/corrupt XOR chunk 1: .* at byte offset \d+/);
          thrown++;
        }
      }
    }
    expect(thrown).toBeGreaterThan(100);
  });

  it("detects a sample count that does not match the bit stream", () => {
    const c = chunks().find((x) => x.samples.length > 100)!;
    const more = c.data.slice();
    // (+1 or +2 may still fit in the final byte's zero padding bits — the format cannot tell.)
    more[1] = more[1]! + 12;
    expect(() => decodeXorChunks(wasm, [more])).toThrow(/truncated/);
    const fewer = c.data.slice();
    fewer[1] = fewer[1]! - 5;
    expect(() => decodeXorChunks(wasm, [fewer])).toThrow(/count mismatch/);
    expect(() => decodeXorChunks(wasm, [new Uint8Array([0])])).toThrow(/shorter than its 2-byte header/);
    expect(() => decodeXorChunks(wasm, [new Uint8Array([0, 0, 0, 0, 0])])).toThrow(/count mismatch/);
    expect(() => decodeXorChunks(wasm, [new Uint8Array([0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])])).toThrow(/varint/);
  });

  it("never crashes or reads out of bounds on flipped bits", () => {
    for (const c of chunks().slice(0, 6)) {
      for (let bit = 0; bit < c.data.length * 8; bit++) {
        const bad = c.data.slice();
        bad[bit >> 3] = bad[bit >> 3]! ^ (0x80 >> (bit & 7));
        try {
          const r = decodeXorChunks(wasm, [bad]);
          // A flip the format cannot detect (the CRC does) still yields exactly `count` samples.
          expect(r.total).toBe((bad[0]! << 8) | bad[1]!);
        } catch (err) {
          expect(err).toBeInstanceOf(XorChunkError);
        }
      }
    }
  });

  it("stays usable after an error", () => {
    const c = chunks()[0]!;
    expect(() => decodeXorChunks(wasm, [c.data.slice(0, 5)])).toThrow(XorChunkError);
    expect(decodeXorChunks(wasm, [c.data]).total).toBe(c.samples.length);
  });
});
