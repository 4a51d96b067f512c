/**
 * Requests shaped like Grafana's Prometheus data source (with Thanos extras) against a querier over
 * two HA store gateways on loopback gRPC, through the real HTTP listener: form-encoded POST
 * query_range/query with Grafana's parameters, label browser calls with start/end, several
 * match[] on series, buildinfo (flavour detection) and metadata. All must be 200 with Prometheus'
 * shapes, and POST answers must equal the same request as GET.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBlock } from "../src/tsdb/block-writer.ts";
import { COMPAT_HOURS, COMPAT_T0, makeCompatSeries } from "./helpers/query-compat-data.ts";
import { formPost, memoryBucketWith, startTestQuerier, startTestStore, type TestQuerier, type TestStore } from "./helpers/query-stack.ts";

let stores: TestStore[] = [];
let querier: TestQuerier;
const END = COMPAT_T0 + COMPAT_HOURS * 3600_000;
const s = (ms: number): string => String(Math.floor(ms / 1000));

beforeAll(async () => {
  const data = makeCompatSeries();
  for (const replica of ["a", "b"]) {
    const block = writeBlock(data, { thanos: { labels: { cluster: "eu", replica }, source: "sidecar" } });
    stores.push(await startTestStore(await memoryBucketWith(`grafana-${replica}`, [block])));
  }
  querier = await startTestQuerier(stores.map((x) => x.address), { replicaLabels: ["replica"] });
});

afterAll(async () => {
  await querier?.close();
  await Promise.all(stores.map((x) => x.stop()));
  stores = [];
});

/** Headers Grafana's backend sends with data source requests. */
const GRAFANA_HEADERS = { "x-grafana-org-id": "1", "user-agent": "Grafana/11.3.0", accept: "application/json, text/plain, */*" };

function grafanaPost(params: Record<string, string | string[]>): RequestInit {
  const init = formPost(params);
  return { ...init, headers: { ...(init.headers as Record<string, string>), ...GRAFANA_HEADERS } };
}

function json(text: string): any {
  return JSON.parse(text);
}

describe("Grafana-shaped requests", () => {
  it("POST form query_range with Grafana's parameters (and Thanos' dedup/partial_response in the URL)", async () => {
    const params = {
      query: "sum by (job) (rate(http_requests_total[5m]))",
      start: s(END - 6 * 3600_000 + 7200_000), // Grafana aligns start/end to the step
      end: s(END - 60_000),
      step: "60",
    };
    const res = await querier.request("/api/v1/query_range?dedup=true&partial_response=true&max_source_resolution=auto", grafanaPost(params));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = json(res.text);
    expect(body.status).toBe("success");
    expect(body.data.resultType).toBe("matrix");
    expect(body.data.result.map((r: any) => r.metric)).toEqual([{ job: "api" }, { job: "web" }]);
    for (const r of body.data.result) {
      expect(r.values.length).toBeGreaterThan(200);
      for (const [t, v] of r.values) {
        expect(Number.isInteger(t)).toBe(true);
        expect(typeof v).toBe("string");
        expect(Number.isFinite(Number(v))).toBe(true);
      }
    }
    // Same request as GET gives the same body (Grafana may use either, per data source setting).
    const get = await querier.request(`/api/v1/query_range?${new URLSearchParams({ ...params, dedup: "true", partial_response: "true" })}`);
    expect(get.text).toBe(res.text);
  });

  it("POST form instant query (table panels, stat panels)", async () => {
    const res = await querier.request("/api/v1/query", grafanaPost({ query: "topk(3, node_load1)", time: s(END - 600_000) }));
    expect(res.status).toBe(200);
    const body = json(res.text);
    expect(body.data.resultType).toBe("vector");
    expect(body.data.result).toHaveLength(3);
    // Deduplicated: no replica label, cluster kept.
    for (const r of body.data.result) expect(Object.keys(r.metric).sort()).toEqual(["__name__", "cluster", "instance", "job"]);
  });

  it("/api/v1/labels with start/end (GET and POST), replica label hidden", async () => {
    const q = { start: s(END - 3600_000), end: s(END) };
    const get = await querier.request(`/api/v1/labels?${new URLSearchParams(q)}`, { headers: GRAFANA_HEADERS });
    expect(get.status).toBe(200);
    expect(json(get.text)).toEqual({ status: "success", data: ["__name__", "cluster", "code", "instance", "job", "kind", "le"] });
    const post = await querier.request("/api/v1/labels", grafanaPost(q));
    expect(post.text).toBe(get.text);
    const matched = await querier.request(`/api/v1/labels?${new URLSearchParams({ ...q, "match[]": "node_load1" })}`);
    expect(json(matched.text).data).toEqual(["__name__", "cluster", "instance", "job"]);
  });

  it("/api/v1/label/__name__/values (metric browser)", async () => {
    const res = await querier.request(`/api/v1/label/__name__/values?start=${s(END - 3600_000)}&end=${s(END)}`, { headers: GRAFANA_HEADERS });
    expect(res.status).toBe(200);
    expect(json(res.text).data).toEqual(["compat_huge", "compat_special", "compat_stale", "compat_tiny", "http_request_duration_seconds_bucket", "http_requests_total", "node_load1"]);
    const jobs = await querier.request(`/api/v1/label/job/values?match[]=${encodeURIComponent('http_requests_total{code="500"}')}`);
    expect(json(jobs.text).data).toEqual(["api", "web"]);
  });

  it("/api/v1/series with several match[] (variables, label browser)", async () => {
    const res = await querier.request("/api/v1/series", grafanaPost({
      "match[]": ["node_load1", 'http_requests_total{job="web",code="500"}', "{__name__=~\"compat_.*\"}"],
      start: s(END - 3600_000),
      end: s(END),
    }));
    expect(res.status).toBe(200);
    const body = json(res.text);
    expect(body.status).toBe("success");
    const names = body.data.map((x: Record<string, string>) => x.__name__);
    expect(names).toEqual(["compat_huge", "compat_special", "compat_tiny", "http_requests_total", "http_requests_total", "node_load1", "node_load1", "node_load1"]);
    for (const x of body.data) {
      expect(x.cluster).toBe("eu");
      expect(x.replica).toBeUndefined();
    }
  });

  it("/api/v1/status/buildinfo (flavour detection) and /api/v1/metadata", async () => {
    const info = await querier.request("/api/v1/status/buildinfo", { headers: GRAFANA_HEADERS });
    expect(info.status).toBe(200);
    const b = json(info.text);
    expect(b.status).toBe("success");
    expect(Object.keys(b.data).sort()).toEqual(["branch", "buildDate", "buildUser", "goVersion", "revision", "version"]);
    expect(b.data.version).toMatch(/^\d+\.\d+\.\d+/);
    const meta = await querier.request("/api/v1/metadata", { headers: GRAFANA_HEADERS });
    expect(meta.status).toBe(200);
    const m = json(meta.text);
    expect(m.status).toBe("success");
    // Prometheus' shape: metric name → list of {type, help, unit}; StoreAPI carries none, so empty.
    expect(typeof m.data).toBe("object");
    expect(Array.isArray(m.data)).toBe(false);
    for (const list of Object.values(m.data)) expect(Array.isArray(list)).toBe(true);
  });

  it("Thanos' replicaLabels[] overrides --query.replica-label per request; dedup=false keeps every label", async () => {
    const metrics = async (extra: string): Promise<Record<string, string>[]> => {
      const res = await querier.request(`/api/v1/query?query=${encodeURIComponent('node_load1{instance="10.0.0.1:9100"}')}&time=${s(END - 600_000)}${extra}`);
      return json(res.text).data.result.map((r: any) => r.metric);
    };
    expect(await metrics("")).toEqual([{ __name__: "node_load1", cluster: "eu", instance: "10.0.0.1:9100", job: "node" }]);
    expect(await metrics("&replicaLabels[]=replica&replicaLabels[]=cluster")).toEqual([{ __name__: "node_load1", instance: "10.0.0.1:9100", job: "node" }]);
    // Deduplicating on a label that does not tell the replicas apart leaves both replicas.
    expect((await metrics("&replicaLabels[]=cluster")).map((m) => m.replica)).toEqual(["a", "b"]);
    expect((await metrics("&dedup=false")).map((m) => `${m.cluster}/${m.replica}`)).toEqual(["eu/a", "eu/b"]);
  });

  it("Grafana's health check query and its error shape", async () => {
    const ok = await querier.request(`/api/v1/query?query=1%2B1&time=${s(END)}`, { headers: GRAFANA_HEADERS });
    expect(json(ok.text)).toEqual({ status: "success", data: { resultType: "scalar", result: [Number(s(END)), "2"] } });
    const bad = await querier.request("/api/v1/query_range", grafanaPost({ query: "rate(", start: s(END - 3600_000), end: s(END), step: "15" }));
    expect(bad.status).toBe(400);
    expect(json(bad.text)).toMatchObject({ status: "error", errorType: "bad_data" });
  });
});
