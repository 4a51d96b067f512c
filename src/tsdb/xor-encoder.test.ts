import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { decodeXorChunks } from "../wasm/xor.ts";
import { createXorEncoder, encodeXorChunk } from "./xor-encoder.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

/** Decodes one chunk with Meridian's WASM kernel; value bits as [hi, lo] pairs. */
function wasmDecode(bytes: Uint8Array): { t: number[]; hi: number[]; lo: number[] } {
  const r = decodeXorChunks(wasm, [bytes]);
  const w = new Uint32Array(r.v.buffer, r.v.byteOffset, r.total * 2);
  const hi: number[] = [];
  const lo: number[] = [];
  for (let i = 0; i < r.total; i++) {
    hi.push(w[2 * i + 1]!);
    lo.push(w[2 * i]!);
  }
  return { t: [...r.t], hi, lo };
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Fixture blocks: the repo copy when present (fresh clones), else the shared folder. */
function fixtureRoot(): string | undefined {
  for (const dir of [join(repoRoot, "test", "fixtures", "blocks"), join(repoRoot, "..", "shared", "fixtures", "blocks")]) {
    if (existsSync(join(dir, "promtool-openmetrics-2.42", "expected.json"))) return dir;
  }
  return undefined;
}

function bitsToFloat(hex: string): { hi: number; lo: number } {
  return { hi: parseInt(hex.slice(0, 8), 16), lo: parseInt(hex.slice(8), 16) };
}

/**
 * Test-only reference decoder written from the format description (independent of the encoder
 * and of the WASM kernel), used as a second oracle.
 */
function referenceDecode(data: Uint8Array): { t: number[]; hi: number[]; lo: number[] } {
  let pos = 16;
  const bit = (): number => {
    const b = (data[pos >>> 3]! >>> (7 - (pos & 7))) & 1;
    pos++;
    return b;
  };
  const bits = (n: number): bigint => {
    let r = 0n;
    for (let i = 0; i < n; i++) r = (r << 1n) | BigInt(bit());
    return r;
  };
  const uvarint = (): bigint => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      const b = Number(bits(8));
      r |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return r;
      shift += 7n;
    }
  };
  const n = (data[0]! << 8) | data[1]!;
  const t: number[] = [];
  const hi: number[] = [];
  const lo: number[] = [];
  let ts = 0n;
  let delta = 0n;
  let v = 0n;
  let leading = 0;
  let trailing = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0) {
      const u = uvarint();
      ts = (u >> 1n) ^ -(u & 1n);
      v = bits(64);
    } else {
      if (i === 1) delta = BigInt.asIntN(64, uvarint());
      else {
        let prefix = 0;
        while (prefix < 4 && bit() === 1) prefix++;
        const width = [0, 14, 17, 20, 64][prefix]!;
        let dod = bits(width);
        if (width === 64) dod = BigInt.asIntN(64, dod);
        else if (width > 0 && dod > 1n << BigInt(width - 1)) dod -= 1n << BigInt(width);
        delta = BigInt.asIntN(64, delta + dod);
      }
      ts = BigInt.asIntN(64, ts + delta);
      if (bit() === 1) {
        if (bit() === 1) {
          leading = Number(bits(5));
          let sig = Number(bits(6));
          if (sig === 0) sig = 64;
          trailing = 64 - leading - sig;
        }
        v ^= bits(64 - leading - trailing) << BigInt(trailing);
      }
    }
    t.push(Number(ts));
    hi.push(Number(v >> 32n));
    lo.push(Number(v & 0xffffffffn));
  }
  return { t, hi, lo };
}

interface FixtureChunk {
  segment_index: number;
  offset: number;
  encoding: number;
  data_len: number;
  samples: [number, string][];
}

describe("XOR encoder against real Prometheus 2.42 chunks", () => {
  const root = fixtureRoot();
  it.skipIf(root === undefined)("re-encodes every fixture chunk to identical bytes", () => {
    let chunks = 0;
    let samples = 0;
    for (const group of ["promtool-openmetrics-2.42", "promtool-openmetrics-edgecases-2.42", "prometheus-2.42-scraped"]) {
      const dir = join(root!, group);
      const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as {
        blocks: { ulid: string; series: { chunks: FixtureChunk[] }[] }[];
      };
      for (const block of expected.blocks) {
        const segments = new Map<number, Uint8Array>();
        const segment = (i: number): Uint8Array => {
          let s = segments.get(i);
          if (!s) {
            s = new Uint8Array(readFileSync(join(dir, block.ulid, "chunks", String(i + 1).padStart(6, "0"))));
            segments.set(i, s);
          }
          return s;
        };
        for (const series of block.series) {
          for (const c of series.chunks) {
            if (c.encoding !== 1) continue;
            const seg = segment(c.segment_index);
            let off = c.offset;
            let len = 0;
            for (let shift = 0; ; shift += 7) {
              const b = seg[off++]!;
              len += (b & 0x7f) * 2 ** shift;
              if (b < 0x80) break;
            }
            expect(len).toBe(c.data_len);
            const stored = seg.subarray(off + 1, off + 1 + len);
            const enc = createXorEncoder();
            for (const [ts, hex] of c.samples) {
              const { hi, lo } = bitsToFloat(hex);
              enc.appendBits(ts, hi, lo);
            }
            const mine = enc.bytes();
            expect(enc.size).toBe(mine.length);
            if (Buffer.compare(Buffer.from(mine), Buffer.from(stored)) !== 0) {
              throw new Error(`${group}/${block.ulid} chunk at ${c.segment_index}:${c.offset} differs (${mine.length} vs ${stored.length} bytes)`);
            }
            chunks++;
            samples += c.samples.length;
          }
        }
      }
    }
    expect(chunks).toBeGreaterThan(100);
    expect(samples).toBeGreaterThan(10_000);
  });
});

describe("XOR encoder", () => {
  it("matches the worked example from the format reference", () => {
    const bytes = encodeXorChunk([1700000000000, 1700000015000], [1.5, 2.5]);
    expect(Buffer.from(bytes).toString("hex")).toBe("000280a0abfef9623ff80000000000009875c26fffc0");
  });

  it("writes the Go bit writer's trailing empty byte on 1-sample chunks", () => {
    const bytes = encodeXorChunk([1700000000000], [1]);
    expect(bytes.length).toBe(2 + 6 + 8 + 1);
    expect(bytes[bytes.length - 1]).toBe(0);
    expect(Buffer.from(encodeXorChunk([], [])).toString("hex")).toBe("0000");
  });

  it("keeps the stale marker bits distinct from ordinary NaN", () => {
    const v = new Float64Array(3);
    const w = new Uint32Array(v.buffer);
    w[1] = 0x7ff00000; w[0] = 2; // stale
    w[3] = 0x7ff80000; w[2] = 1; // Go NaN
    v[2] = 5;
    for (const d of [wasmDecode(encodeXorChunk([1, 2, 3], v)), referenceDecode(encodeXorChunk([1, 2, 3], v))]) {
      expect([d.hi[0], d.lo[0], d.hi[1], d.lo[1]]).toEqual([0x7ff00000, 2, 0x7ff80000, 1]);
    }
  });

  it("rejects non-integer timestamps with a clear error", () => {
    expect(() => encodeXorChunk([1.5], [1])).toThrow(/not an integer/);
  });

  const special = fc.constantFrom(
    NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308, Number.MAX_VALUE, 1e300, -1e-300,
  );
  const bitsArb = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
    fc.constant([0x7ff00000, 2] as [number, number]), // stale marker
    special.map((x) => {
      const f = new Float64Array([x]);
      const u = new Uint32Array(f.buffer);
      return [u[1]!, u[0]!] as [number, number];
    }),
    fc.integer({ min: -1000, max: 1000 }).map((x) => {
      const f = new Float64Array([x / 4]);
      const u = new Uint32Array(f.buffer);
      return [u[1]!, u[0]!] as [number, number];
    }),
  );
  const deltaArb = fc.oneof(
    fc.constant(15000),
    fc.integer({ min: 14990, max: 15010 }),
    fc.integer({ min: 0, max: 1 }),
    fc.integer({ min: 0, max: 2 ** 20 }),
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.integer({ min: -(2 ** 30), max: 2 ** 30 }),
  );

  it("round-trips random series bit for bit (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
        fc.array(fc.tuple(deltaArb, bitsArb), { minLength: 1, maxLength: 300 }),
        (t0, steps) => {
          const t: number[] = [];
          const words = new Uint32Array(steps.length * 2);
          let ts = t0;
          steps.forEach(([d, [hi, lo]], i) => {
            if (i > 0) ts += d;
            t.push(ts);
            words[2 * i] = lo;
            words[2 * i + 1] = hi;
          });
          const v = new Float64Array(words.buffer);
          const bytes = encodeXorChunk(t, v);
          for (const d of [wasmDecode(bytes), referenceDecode(bytes)]) {
            expect(d.t).toEqual(t);
            for (let i = 0; i < t.length; i++) {
              expect([d.hi[i], d.lo[i]]).toEqual([words[2 * i + 1], words[2 * i]]);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("handles extreme timestamps and deltas (64-bit dod, negative first delta)", () => {
    const t = [2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53 - 1, 0, 0, 1];
    const bytes = encodeXorChunk(t, [1, 2, 3, 4, 5, 6]);
    expect(referenceDecode(bytes).t).toEqual(t);
    expect(wasmDecode(bytes).t).toEqual(t);
  });
});
