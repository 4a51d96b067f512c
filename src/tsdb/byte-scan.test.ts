import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compareStrings } from "../model/labels.ts";
import { ByteScratch, compareByteRanges, isValidUtf8 } from "./byte-scan.ts";

const enc = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true });
const acceptsFatal = (b: Uint8Array): boolean => {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
};
const sign = (x: number): number => (x < 0 ? -1 : x > 0 ? 1 : 0);

describe("isValidUtf8", () => {
  it("accepts exactly what a fatal TextDecoder accepts (random bytes, mostly non-ASCII)", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0x80, max: 0xff }), fc.integer({ min: 0, max: 0xff })), { maxLength: 12 }), (xs) => {
        const b = Uint8Array.from([0x41, ...xs, 0x42]);
        expect(isValidUtf8(b, 1, b.length - 1)).toBe(acceptsFatal(b.subarray(1, b.length - 1)));
      }),
      { numRuns: 5000 },
    );
  });

  it("accepts every encoded string and rejects overlongs, surrogates, truncation and > U+10FFFF", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        const b = enc.encode(s);
        expect(isValidUtf8(b, 0, b.length)).toBe(true);
      }),
    );
    const bad = [[0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xc3, 0x28]];
    for (const x of bad) expect(isValidUtf8(Uint8Array.from(x), 0, x.length)).toBe(false);
    // The range end counts: a sequence cut by `end` is invalid even if the array goes on.
    expect(isValidUtf8(Uint8Array.from([0xe2, 0x82, 0xac]), 0, 2)).toBe(false);
    expect(isValidUtf8(Uint8Array.from([0xe2, 0x82, 0xac]), 0, 3)).toBe(true);
  });
});

describe("compareByteRanges", () => {
  it("orders UTF-8 encodings as compareStrings orders the strings (Go's byte order)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const x = enc.encode("?" + a);
        const y = enc.encode(b + "!!");
        expect(sign(compareByteRanges(x, 1, x.length, y, 0, y.length - 2))).toBe(sign(compareStrings(a, b)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("ByteScratch", () => {
  it("keeps a copy that survives changes to the source and grows for long entries", () => {
    const s = new ByteScratch(2);
    expect(s.isSet).toBe(false);
    const src = enc.encode("xxhello world, a long entry that does not fit");
    s.set(src, 2, 7);
    src.fill(0);
    expect(new TextDecoder().decode(s.view())).toBe("hello");
    const long = enc.encode("z".repeat(300));
    s.set(long, 0, long.length);
    expect(s.view().length).toBe(300);
    expect(s.equals(long, 0, long.length)).toBe(true);
    expect(s.equals(long, 0, long.length - 1)).toBe(false);
    expect(sign(s.compare(long, 0, long.length - 1))).toBe(1);
    expect(sign(s.compare(enc.encode("zzz{"), 0, 4))).toBe(-1);
  });
});
