import { describe, expect, it } from "vitest";
import { concatBytes } from "./bytes.ts";

describe("concatBytes", () => {
  it("joins pieces in order, with or without a precomputed total", () => {
    const parts = [Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3), Uint8Array.of(4, 5, 6)];
    expect([...concatBytes(parts)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...concatBytes(parts, 6)]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(concatBytes([]).length).toBe(0);
  });

  it("never returns a view of a part", () => {
    const only = Uint8Array.of(7, 8);
    const out = concatBytes([only]);
    only[0] = 0;
    expect([...out]).toEqual([7, 8]);
  });
});
