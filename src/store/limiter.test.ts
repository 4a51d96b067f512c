import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createGate, createRequestLimiter } from "./limiter.ts";

describe("request limiter", () => {
  it("throws ResourceExhausted naming the limit once it is exceeded, and reports which", () => {
    const seen: string[] = [];
    const l = createRequestLimiter({ series: 3, samples: 100 }, (w) => seen.push(w));
    l.addSeries(3);
    const err = (() => {
      try {
        l.addSeries(1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).message).toContain("--store.limits.request-series");
    expect(() => l.addSamples(101)).toThrow(/--store.limits.request-samples/);
    expect(seen).toEqual(["series", "samples"]);
    const unlimited = createRequestLimiter({ series: 0, samples: 0 });
    unlimited.addSeries(1e9);
    unlimited.addSamples(1e12);
  });
});

describe("gate", () => {
  it("admits at most max holders, queues the rest in order, and drops aborted waiters", async () => {
    const g = createGate(2);
    const r1 = await g.acquire();
    const r2 = await g.acquire();
    const order: number[] = [];
    const p3 = g.acquire().then((r) => (order.push(3), r));
    const ac = new AbortController();
    const p4 = g.acquire(ac.signal);
    const p5 = g.acquire().then((r) => (order.push(5), r));
    expect(g.inFlight).toBe(2);
    expect(g.waiting).toBe(3);
    ac.abort(new Error("client went away"));
    await expect(p4).rejects.toThrow("client went away");
    expect(g.waiting).toBe(2);
    r1();
    r1(); // releasing twice is harmless
    const r3 = await p3;
    expect(g.inFlight).toBe(2);
    r2();
    const r5 = await p5;
    expect(order).toEqual([3, 5]);
    r3();
    r5();
    expect(g.inFlight).toBe(0);
  });
});
