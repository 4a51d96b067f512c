import { describe, expect, it } from "vitest";
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
