import { describe, expect, it } from "vitest";
import { crc32c, crc32cRange } from "./crc32c.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("crc32c", () => {
  it("matches the standard check value", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
  });
  it("is 0 for no bytes", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
  it("matches RFC 3720 test vectors", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(crc32c(inc)).toBe(0x46dd794e);
  });
  it("continues across pieces", () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
    for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
      expect(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut)))).toBe(crc32c(data));
    }
  });
  it("checksums a range in place like the subarray", () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
    for (const [a, b] of [[0, 300], [1, 2], [3, 3], [5, 13], [7, 299], [100, 250]] as const) {
      expect(crc32cRange(data, a, b)).toBe(crc32c(data.slice(a, b)));
    }
  });
});
