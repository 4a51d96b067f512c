/**
 * The primitive decoders against an independent BigInt reference encoder: Go uvarint/varint over
 * the whole int64 range (exact within ±2^53), big-endian integers, strings, and bounds errors that
 * name the file, section and absolute offset.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Decoder, NEED_MORE } from "../src/tsdb/decoder.ts";
import { CorruptionError } from "../src/tsdb/errors.ts";
import { createMemoryReader } from "../src/tsdb/byte-range-reader.ts";
import { SectionStream } from "../src/tsdb/section-stream.ts";
import { crc32c } from "../src/tsdb/crc32c.ts";

function uvarintBytes(v: bigint): number[] {
  const out: number[] = [];
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return out;
}
const zigzag = (x: bigint): bigint => (x < 0n ? ((-x) << 1n) - 1n : x << 1n);
const dec = (bytes: number[], base = 1000): Decoder => new Decoder(Uint8Array.from(bytes), "f", "sec", base);

describe("Decoder", () => {
  it("decodes uvarints exactly below 2^53 and close to the double above", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const d = dec(uvarintBytes(v));
        const got = d.uvarint();
        if (v <= BigInt(Number.MAX_SAFE_INTEGER)) expect(got).toBe(Number(v));
        else expect(Math.abs(got - Number(v)) / Number(v)).toBeLessThan(1e-15);
        expect(d.remaining).toBe(0);
      }),
    );
  });

  it("decodes zig-zag varints over the int64 range", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (x) => {
        // Exact within ±2^53, and the nearest double beyond (exact BigInt decode, then rounding).
        expect(dec(uvarintBytes(zigzag(x))).varint()).toBe(Number(x));
      }),
    );
    expect(dec(uvarintBytes(zigzag(-1700000000000n))).varint()).toBe(-1700000000000);
  });

  it("decodes big-endian integers and refuses 64-bit values beyond 2^53", () => {
    expect(dec([0xba, 0xaa, 0xd7, 0x00]).be32()).toBe(0xbaaad700);
    expect(dec([0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).be64()).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => dec([0, 0x20, 0, 0, 0, 0, 0, 0]).be64()).toThrow(/f: corrupt sec at offset 1000: 64-bit value too large/);
  });

  it("reports running out of bytes with the absolute offset", () => {
    const d = dec([0x05, 0x61, 0x62]);
    expect(() => d.string()).toThrow(CorruptionError);
    try {
      dec([0x80, 0x80], 50).uvarint();
    } catch (err) {
      expect(err).toBeInstanceOf(CorruptionError);
      expect((err as CorruptionError).offset).toBe(50);
    }
    expect(() => dec(Array(11).fill(0x80)).uvarint()).toThrow(CorruptionError);
    expect(() => dec([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).uvarint()).toThrow(/overflows 64 bits/);
    expect(() => dec([0x80, 0x80, 0x80, 0x80, 0x10]).uvarint32()).toThrow(/exceeds 32 bits/);
    // In partial mode (more bytes exist beyond the buffer) running out asks for more instead.
    const partial = dec([0x80]);
    partial.partial = true;
    let thrown: unknown;
    try { partial.uvarint(); } catch (e) { thrown = e; }
    expect(thrown).toBe(NEED_MORE);
  });

  it("decodes UTF-8 strings and rejects invalid UTF-8 as corruption", () => {
    const s = "héllo ✓ \u{1F600}";
    const b = new TextEncoder().encode(s);
    expect(dec([b.length, ...b]).string()).toBe(s);
    expect(() => dec([2, 0xc3, 0x28]).string()).toThrow(/invalid UTF-8/);
  });
});

describe("SectionStream", () => {
  it("parses entries that straddle fetch boundaries and checks the CRC", async () => {
    const strings = Array.from({ length: 500 }, (_, i) => "x".repeat(i % 37) + i);
    const body: number[] = [];
    for (const s of strings) { body.push(...uvarintBytes(BigInt(s.length)), ...new TextEncoder().encode(s)); }
    const crc = crc32c(Uint8Array.from(body));
    const file = Uint8Array.from([9, 9, ...body, crc >>> 24, (crc >>> 16) & 255, (crc >>> 8) & 255, crc & 255]);
    for (const chunk of [1, 3, 7, 64, 1 << 20]) {
      const st = new SectionStream(createMemoryReader("f", file), "sec", 2, 2 + body.length, 2, chunk);
      const got: string[] = [];
      for (let i = 0; i < strings.length; i++) got.push(await st.next((d) => d.string()));
      await st.finish();
      expect(got).toEqual(strings);
    }
    const bad = file.slice();
    bad[100] ^= 1;
    const st = new SectionStream(createMemoryReader("f", bad), "sec", 2, 2 + body.length, 2, 50);
    await expect((async () => {
      for (let i = 0; i < strings.length; i++) await st.next((d) => d.string());
      await st.finish();
    })()).rejects.toThrow(/f: corrupt sec at offset 2: CRC32C mismatch/);
  });
});
