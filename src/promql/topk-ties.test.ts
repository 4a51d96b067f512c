/**
 * topk/bottomk on equal values keep the series Prometheus 3 keeps. Prometheus 3's aggregationK
 * pushes onto a k-heap until it is full, then replaces the heap's top with a strictly better
 * sample and restores the heap with Fix (Prometheus 2.x popped and pushed instead, which keeps a
 * different series on ties; a 2.42 server keeps {10.0.0.2 api, 10.0.0.2 web} below). Input order
 * is the storage order (sorted labels, as stores return them); the results below follow from
 * Prometheus 3's heap steps on that order.
 */
import { describe, expect, it } from "vitest";
import { formatLabels, labelsFromRecord } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { createEngine } from "./engine.ts";
import { createMemoryQueryable } from "./memory-storage.ts";
import type { QueryResult } from "./value.ts";

function one(rec: Record<string, string>, value: number): FloatSeries {
  return { labels: labelsFromRecord(rec), t: Float64Array.of(0), v: Float64Array.of(value) };
}

function vec(r: QueryResult): [string, number][] {
  if (r.value.type !== "vector") throw new Error(`expected vector, got ${r.value.type}`);
  return r.value.samples.map((s) => [formatLabels(s.labels), s.v]);
}

// Sorted label order: {10.0.0.1 api}=0, {10.0.0.1 web}=3, {10.0.0.2 api}=3, {10.0.0.2 web}=4.
const data = createMemoryQueryable([
  one({ __name__: "m", instance: "10.0.0.1", job: "api" }, 0),
  one({ __name__: "m", instance: "10.0.0.1", job: "web" }, 3),
  one({ __name__: "m", instance: "10.0.0.2", job: "api" }, 3),
  one({ __name__: "m", instance: "10.0.0.2", job: "web" }, 4),
]);

describe("topk/bottomk ties resolve as in Prometheus 3", () => {
  const engine = createEngine();

  it("topk replaces the heap top and re-fixes it", async () => {
    // heap [api1 0, web1 3] -> api2 replaces api1 (Fix keeps api2 on top: 3 < 3 is false)
    // -> web2 replaces api2 and sinks below web1: keeps web1 and web2.
    expect(vec(await engine.instantQuery(data, "topk(2, m)", 0))).toEqual([
      [`m{instance="10.0.0.2", job="web"}`, 4],
      [`m{instance="10.0.0.1", job="web"}`, 3],
    ]);
  });

  it("bottomk keeps the first of equal values seen", async () => {
    // heap [api1 0, web1 3] (max on top) -> api2 (3 > 3 false) and web2 (4) do not replace.
    expect(vec(await engine.instantQuery(data, "bottomk(2, m)", 0))).toEqual([
      [`m{instance="10.0.0.1", job="api"}`, 0],
      [`m{instance="10.0.0.1", job="web"}`, 3],
    ]);
    // k=1 on ties: the first series with the best value stays.
    expect(vec(await engine.instantQuery(data, `bottomk(1, m{job="web"} - 3 or m{job="api"})`, 0))).toEqual([
      [`{instance="10.0.0.1", job="web"}`, 0],
    ]);
    expect(vec(await engine.instantQuery(data, `topk(1, m{instance="10.0.0.1"} + 0 or m{job="api"})`, 0))).toEqual([
      [`{instance="10.0.0.1", job="web"}`, 3],
    ]);
  });
});
