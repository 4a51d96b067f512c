/**
 * End to end through real parts: blocks written by Meridian's writer into buckets, served by store
 * gateways over native gRPC on loopback, queried through the querier's Prometheus HTTP API. Checks
 * the HA promises: gaps filled from the other replica, no spurious counter resets on a replica
 * switch, both replicas visible with dedup=false.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelsFromRecord } from "../src/model/labels.ts";
import type { FloatSeries } from "../src/model/series.ts";
import type { QueryComponent } from "../src/query/query-component.ts";
import { writeBlock } from "../src/tsdb/block-writer.ts";
import { startHaSetup, type HaSetup } from "./helpers/ha-stores.ts";

const STEP = 15_000;
const T0 = 1_700_000_000_000;
const N = 480; // 2 hours of 15 s scrapes

function replicaSeries(name: string, gap: [number, number], value: (i: number) => number, extra: Record<string, string> = {}): FloatSeries {
  const t: number[] = [];
  const v: number[] = [];
  for (let i = 0; i < N; i++) {
    if (i >= gap[0] && i < gap[1]) continue;
    t.push(T0 + i * STEP);
    v.push(value(i));
  }
  return { labels: labelsFromRecord({ __name__: name, job: "api", ...extra }), t: Float64Array.from(t), v: Float64Array.from(v) };
}

let setup: HaSetup;
let query: QueryComponent;

// Replica a restarts its counter at scrape 200 (a real reset); replica b keeps counting but was
// scraped with a different phase, so its values differ slightly: a naive merge would see resets.
const counterA = (i: number) => (i < 200 ? i * 10 : (i - 200) * 10);
const counterB = (i: number) => (i < 200 ? i * 10 + 3 : (i - 200) * 10 + 3);

beforeAll(async () => {
  const replicas = [
    { replica: "a", gap: [100, 140] as [number, number], counter: counterA },
    { replica: "b", gap: [300, 360] as [number, number], counter: counterB },
  ];
  const groups = replicas.map((r) => [
    writeBlock([replicaSeries("up", r.gap, () => 1), replicaSeries("requests_total", r.gap, r.counter)], {
      minTime: T0,
      maxTime: T0 + N * STEP,
      thanos: { labels: { cluster: "eu", replica: r.replica }, source: "sidecar" },
    }),
  ]);
  setup = await startHaSetup(groups, { replicaLabels: ["replica"] });
  query = setup.query;
});

afterAll(async () => {
  await setup?.close();
});

async function api(path: string): Promise<{ status: number; body: any }> {
  const res = await query.app.request(`http://querier${path}`);
  return { status: res.status, body: await res.json() };
}

const range = (expr: string, extra = "") =>
  api(`/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${T0 / 1000}&end=${(T0 + (N - 1) * STEP) / 1000}&step=15${extra}`);

describe("querier over two HA store gateways", () => {
  it("reports both stores healthy with their external labels", async () => {
    const { body } = await api("/api/v1/stores");
    expect(body.data.store).toHaveLength(2);
    expect(body.data.store.map((s: any) => s.labelSets[0].replica).sort()).toEqual(["a", "b"]);
    expect(query.ready()).toBe(true);
  });

  it("fills each replica's gap from the other: one gap-free series", async () => {
    const { status, body } = await range("up");
    expect(status).toBe(200);
    expect(body.data.result).toHaveLength(1);
    expect(body.data.result[0].metric).toEqual({ __name__: "up", cluster: "eu", job: "api" });
    expect(body.data.result[0].values).toHaveLength(N);
  });

  it("keeps both replicas, with their gaps, when dedup=false", async () => {
    const { body } = await range("up", "&dedup=false");
    expect(body.data.result.map((s: any) => s.metric.replica)).toEqual(["a", "b"]);
    // The left-open lookback window (t-5m, t] carries the last sample into the next 19 steps of
    // each gap (the 20th step is exactly 5 m later and excluded, as in Prometheus 3).
    expect(body.data.result[0].values.length).toBe(N - 40 + 19);
    expect(body.data.result[1].values.length).toBe(N - 60 + 19);
  });

  it("does not turn a replica switch into a counter reset", async () => {
    // Only one real reset exists (scrape 200, in both replicas). resets() over the whole range
    // must see exactly that one, whichever replica dedup reads at each point.
    const { body } = await api(`/api/v1/query?query=${encodeURIComponent("resets(requests_total[2h])")}&time=${(T0 + (N - 1) * STEP) / 1000}`);
    expect(body.data.result).toHaveLength(1);
    expect(body.data.result[0].value[1]).toBe("1");
    const rate = await range("rate(requests_total[1m])");
    const values = rate.body.data.result[0].values.map((p: [number, string]) => Number(p[1]));
    // 10 per 15 s is 0.667/s; a spurious reset on a switch would add a jump of ~hundreds.
    expect(Math.max(...values)).toBeLessThan(1);
  });

  it("answers series and label APIs without replica labels when deduplicating", async () => {
    const { body } = await api(`/api/v1/series?match[]=up&start=${T0 / 1000}&end=${(T0 + N * STEP) / 1000}`);
    expect(body.data).toEqual([{ __name__: "up", cluster: "eu", job: "api" }]);
    const names = await api(`/api/v1/labels?start=${T0 / 1000}&end=${(T0 + N * STEP) / 1000}`);
    expect(names.body.data).toEqual(["__name__", "cluster", "job"]);
  });

  it("gzips API responses for clients that accept it, as Prometheus does", async () => {
    const res = await query.app.request(`http://querier/api/v1/query_range?query=up&start=${T0 / 1000}&end=${(T0 + (N - 1) * STEP) / 1000}&step=15`, {
      headers: { "accept-encoding": "gzip" },
    });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const text = await new Response(res.body!.pipeThrough(new DecompressionStream("gzip"))).text();
    expect(JSON.parse(text).data.result[0].values).toHaveLength(N);
  });
});
