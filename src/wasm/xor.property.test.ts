import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import { encodeXorChunk } from "../tsdb/xor-encoder.ts";
import type { MeridianWasm } from "./module.ts";
import { decodeXorChunks, XorChunkError } from "./xor.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

// Values as raw (hi, lo) words: arbitrary bit patterns plus the special values Prometheus sees.
const special: [number, number][] = [
  [0x7ff00000, 2], // stale marker
  [0x7ff80000, 1], // Go's NaN
  [0x7ff80000, 0], // JS NaN
  [0x7ff00000, 0], // +Inf
  [0xfff00000, 0], // -Inf
  [0x80000000, 0], // -0
  [0, 0], // 0
  [0, 1], // smallest denormal
  [0x000fffff, 0xffffffff], // largest denormal
  [0x7fefffff, 0xffffffff], // max double
];
const word = fc.integer({ min: 0, max: 0xffffffff });
const valueBits = fc.oneof(
  fc.constantFrom(...special),
  fc.tuple(word, word),
  // gauge-like: small changes in the low mantissa → short XOR windows
  fc.tuple(fc.constantFrom(0x40590000, 0x3ff00000, 0x41d00000), fc.integer({ min: 0, max: 0xffff })),
);
const delta = fc.oneof(
  fc.constant(15_000),
  fc.integer({ min: 14_000, max: 16_000 }), // scrape jitter
  fc.constant(0), // equal timestamps
  fc.integer({ min: 1, max: 2 ** 20 }),
  fc.integer({ min: 2 ** 20, max: 2 ** 40 }), // huge: 64-bit dod bucket
  fc.integer({ min: -(2 ** 30), max: -1 }), // negative: 10-byte uvarint / negative dod
);
const ascendingDelta = fc.oneof(fc.constant(15_000), fc.integer({ min: 14_000, max: 16_000 }), fc.integer({ min: 1, max: 2 ** 40 }));
const seriesOf = (d: fc.Arbitrary<number>) =>
  fc.record({
    t0: fc.integer({ min: -(2 ** 44), max: 2 ** 44 }),
    samples: fc.array(fc.tuple(d, valueBits), { minLength: 1, maxLength: 300 }),
  });
const series = seriesOf(delta);

function build(s: { t0: number; samples: [number, [number, number]][] }): { t: Float64Array; v: Float64Array; words: Uint32Array } {
  const n = s.samples.length;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  const words = new Uint32Array(v.buffer);
  let ts = s.t0;
  s.samples.forEach(([d, [hi, lo]], i) => {
    if (i > 0) ts += d;
    t[i] = ts;
    words[2 * i + 1] = hi;
    words[2 * i] = lo;
  });
  return { t, v, words };
}

describe("XOR encode → WASM decode round trip (fast-check)", () => {
  it("returns every timestamp and every value bit", () => {
    fc.assert(
      fc.property(fc.array(series, { minLength: 1, maxLength: 8 }), (batch) => {
        const built = batch.map(build);
        const chunks = built.map((b) => encodeXorChunk(b.t, b.v));
        const r = decodeXorChunks(wasm, chunks);
        const outWords = new Uint32Array(r.v.buffer, r.v.byteOffset, r.total * 2);
        let k = 0;
        built.forEach((b, ci) => {
          expect(r.counts[ci]).toBe(b.t.length);
          for (let i = 0; i < b.t.length; i++, k++) {
            if (r.t[k] !== b.t[i] || outWords[2 * k] !== b.words[2 * i] || outWords[2 * k + 1] !== b.words[2 * i + 1]) {
              throw new Error(`chunk ${ci} sample ${i}: got t=${r.t[k]} bits=${outWords[2 * k + 1]!.toString(16)}:${outWords[2 * k]!.toString(16)}`);
            }
          }
        });
        expect(r.total).toBe(k);
      }),
      { numRuns: 400 },
    );
  });

  it("keeps exactly the samples inside [mint, maxt]", () => {
    fc.assert(
      // Filtering assumes ascending time within a chunk, as Prometheus writes them.
      fc.property(seriesOf(ascendingDelta), fc.integer({ min: 0, max: 299 }), fc.integer({ min: 0, max: 299 }), (s, a, b) => {
        const { t, v } = build(s);
        const mint = t[Math.min(a % t.length, b % t.length)]!;
        const maxt = t[Math.max(a % t.length, b % t.length)]!;
        const r = decodeXorChunks(wasm, [encodeXorChunk(t, v)], { mint, maxt });
        const want = Array.from(t).filter((x) => x >= mint && x <= maxt);
        expect(want.length).toBeGreaterThan(0);
        expect(Array.from(r.t)).toEqual(want);
        expect(Array.from(r.counts)).toEqual([want.length]);
      }),
      { numRuns: 200 },
    );
  });

  it("never crashes on arbitrary bytes: a valid decode or an XorChunkError", () => {
    const chunkBytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Plausible headers over random bit streams reach deeper into the decoder.
      fc.tuple(fc.integer({ min: 0, max: 300 }), fc.uint8Array({ minLength: 1, maxLength: 400 })).map(([n, body]) => {
        const c = new Uint8Array(body.length + 2);
        c[0] = n >> 8;
        c[1] = n & 0xff;
        c.set(body, 2);
        return c;
      }),
    );
    fc.assert(
      fc.property(fc.array(chunkBytes, { minLength: 1, maxLength: 6 }), (chunks) => {
        try {
          const r = decodeXorChunks(wasm, chunks);
          chunks.forEach((c, i) => expect(r.counts[i]).toBe(c.length >= 2 ? (c[0]! << 8) | c[1]! : 0));
        } catch (err) {
          expect(err).toBeInstanceOf(XorChunkError);
          const e = err as XorChunkError;
          expect(e.chunkIndex).toBeLessThan(chunks.length);
          expect(e.byteOffset).toBeLessThanOrEqual(chunks[e.chunkIndex]!.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes the largest chunk the header allows (65535 samples)", () => {
    const n = 0xffff;
    const t = new Float64Array(n);
    const v = new Float64Array(n);
    const words = new Uint32Array(v.buffer);
    let seed = 1;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < n; i++) {
      t[i] = 1_700_000_000_000 + i * 15_000 + (rnd() % 7);
      words[2 * i] = rnd();
      words[2 * i + 1] = rnd();
    }
    const chunk = encodeXorChunk(t, v);
    const r = decodeXorChunks(wasm, [chunk]);
    expect(r.total).toBe(n);
    expect(Array.from(r.t)).toEqual(Array.from(t));
    expect(Array.from(new Uint32Array(r.v.buffer, r.v.byteOffset, 2 * n))).toEqual(Array.from(words));
  });
});
