import { describe, expect, it } from "vitest";
import { formatGoFloat } from "./format-float.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { labelsHash, xxhash64 } from "./labels-hash.ts";

describe("Go number formatting and label hashing", () => {
  it("formats like strconv", () => {
    expect(formatGoFloat(1e21, true)).toBe("1000000000000000000000");
    expect(formatGoFloat(0.000001, true)).toBe("0.000001");
    expect(formatGoFloat(-2.5, true)).toBe("-2.5");
    expect(formatGoFloat(1e6)).toBe("1e+06");
    expect(formatGoFloat(123456)).toBe("123456");
    expect(formatGoFloat(0.00001)).toBe("1e-05");
    expect(formatGoFloat(Infinity)).toBe("+Inf");
  });

  it("computes xxHash64 test vectors and a [0,1) label offset", () => {
    const enc = new TextEncoder();
    expect(xxhash64(enc.encode("")).toString(16)).toBe("ef46db3751d8e999");
    expect(xxhash64(enc.encode("abc")).toString(16)).toBe("44bc2cf5ad770999");
    expect(xxhash64(enc.encode("Nobody inspects the spammish repetition")).toString(16)).toBe("fbcea83c8a378bf1");
    const h = labelsHash(labelsFromRecord({ __name__: "x", a: "b" }));
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(1);
  });
});
