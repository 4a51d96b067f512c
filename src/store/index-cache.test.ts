import { describe, expect, it } from "vitest";
import { createIndexCache, type CacheItemType } from "./index-cache.ts";

describe("index cache", () => {
  it("returns hits, counts requests and hits, and stays within its byte budget", () => {
    const stats = { req: 0, hit: 0 };
    const c = createIndexCache(64 * 1024, { onRequest: (_t: CacheItemType, n) => (stats.req += n), onHit: (_t: CacheItemType, n) => (stats.hit += n) });
    c.setPostings("B1", "job", "a", Uint32Array.of(1, 2, 3));
    const got = c.getPostings("B1", "job", ["a", "b"]);
    expect([...got.keys()]).toEqual(["a"]);
    expect(Array.from(got.get("a")!)).toEqual([1, 2, 3]);
    expect(c.getPostings("B2", "job", ["a"]).size).toBe(0); // keys are per block
    expect(stats).toEqual({ req: 3, hit: 1 });
    c.setSeries("B1", { ref: 7, labelRefs: Uint32Array.of(1, 2), chunks: [{ ref: 8, mint: 0, maxt: 1 }] });
    expect(c.getSeries("B1", [7, 9]).get(7)!.chunks[0]!.ref).toBe(8);
    for (let i = 0; i < 1000; i++) c.setPostings("B1", "n", String(i), new Uint32Array(100));
    expect(c.size).toBeLessThanOrEqual(64 * 1024);
    expect(c.items).toBeGreaterThan(10);
    expect(c.getPostings("B1", "n", ["999"]).size).toBe(1); // most recent survive
    expect(c.getPostings("B1", "n", ["0"]).size).toBe(0); // oldest evicted
  });

  it("is a no-op at size 0", () => {
    const c = createIndexCache(0);
    c.setPostings("B", "a", "b", Uint32Array.of(1));
    expect(c.getPostings("B", "a", ["b"]).size).toBe(0);
    expect(c.size).toBe(0);
  });
});
