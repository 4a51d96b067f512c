import { describe, expect, it } from "vitest";
import { formatGoFloat } from "./format-float.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { labelsHash, xxhash64 } from "./labels-hash.ts";
import { compilePromRegex, translateRe2 } from "./regex.ts";

describe("RE2 → JS regex translation", () => {
  const m = (re: string, s: string): boolean => compilePromRegex(re).test(s);

  it("anchors and lets . match newlines", () => {
    expect(m("a.c", "a\nc")).toBe(true);
    expect(m("b", "abc")).toBe(false);
  });

  it("scopes case-insensitive flags like RE2", () => {
    expect(m("(?i)abc", "AbC")).toBe(true);
    expect(m("x(?i:ab)c", "xABc")).toBe(true);
    expect(m("x(?i:ab)c", "xABC")).toBe(false);
    expect(m("((?i)a)b", "Ab")).toBe(true);
    expect(m("((?i)a)b", "AB")).toBe(false);
    expect(m("(?i)[a-c]+", "AbC")).toBe(true);
  });

  it("supports RE2-only syntax", () => {
    expect(m("[[:digit:]]+x", "123x")).toBe(true);
    expect(m(String.raw`\Qa.b\E`, "a.b")).toBe(true);
    expect(m(String.raw`\Qa.b\E`, "axb")).toBe(false);
    expect(m("(?P<n>a+)b", "aab")).toBe(true);
    expect(m(String.raw`a\-b`, "a-b")).toBe(true);
    expect(m("a{", "a{")).toBe(true);
    expect(m(String.raw`\pL+`, "héllo")).toBe(true);
    expect(translateRe2(String.raw`\z`)).toBe("$");
  });

  it("rejects invalid patterns with a matcher error", () => {
    expect(() => compilePromRegex("(a")).toThrow(/missing closing \)/);
  });
});

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
