/**
 * The querier when stores misbehave, and its topologies, end to end over loopback gRPC:
 * - a stopped store → warning (partial_response on, the default) or a 5xx naming it (off), never
 *   a hang; `/api/v1/stores` shows it unhealthy after the next probe, and it is then left out;
 * - a store that stalls → `--store.response-timeout` turns it into a warning / an error;
 * - `storeMatch[]` restricts which stores are asked;
 * - a global querier over two regional queriers answers exactly as one querier over all stores;
 * - `--endpoint.sd-config-file` edits add and remove endpoints (Node file watcher).
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoreApi } from "../src/server/store-api.ts";
import { writeBlock, type WrittenBlock } from "../src/tsdb/block-writer.ts";
import { COMPAT_HOURS, COMPAT_T0, makeCompatSeries, withoutWindow } from "./helpers/query-compat-data.ts";
import { memoryBucketWith, startTestQuerier, startTestStore, waitFor, type TestQuerier, type TestStore } from "./helpers/query-stack.ts";

const END = COMPAT_T0 + COMPAT_HOURS * 3600_000;
const AT = END - 30 * 60_000;
const sec = (ms: number): string => String(ms / 1000);
const enc = encodeURIComponent;
const NEVER = 3600_000; // probe interval long enough that a test controls when probes happen

/** Replica `replica` of region `cluster`; replica "b" misses 40 minutes, so dedup has work. */
function regionBlock(cluster: string, replica: string): WrittenBlock {
  let data = makeCompatSeries();
  if (replica === "b") data = withoutWindow(data, COMPAT_T0 + 3600_000, COMPAT_T0 + 6000_000);
  return writeBlock(data, { thanos: { labels: { cluster, replica }, source: "sidecar" } });
}

async function storeFor(cluster: string, replica: string, wrap?: (api: StoreApi) => StoreApi): Promise<TestStore> {
  return startTestStore(await memoryBucketWith(`${cluster}-${replica}`, [regionBlock(cluster, replica)]), wrap);
}

function body(text: string): any {
  return JSON.parse(text);
}

const instant = (expr: string, extra = ""): string => `/api/v1/query?query=${enc(expr)}&time=${sec(AT)}${extra}`;
const range = (expr: string, extra = ""): string => `/api/v1/query_range?query=${enc(expr)}&start=${sec(COMPAT_T0)}&end=${sec(END)}&step=60${extra}`;

describe("a stopped store", () => {
  let a: TestStore;
  let b: TestStore;
  let q: TestQuerier;
  beforeAll(async () => {
    [a, b] = await Promise.all([storeFor("eu", "a"), storeFor("eu", "b")]);
    q = await startTestQuerier([a.address, b.address], { replicaLabels: ["replica"], probeIntervalMs: NEVER });
    await b.stop();
  });
  afterAll(async () => {
    await q.close();
    await Promise.all([a.stop(), b.stop()]);
  });

  it("becomes a warning naming the store with partial_response unset or true; data from the rest", async () => {
    for (const extra of ["", "&partial_response=true"]) {
      const res = await q.request(instant("count(node_load1)", extra));
      expect(res.status).toBe(200);
      const r = body(res.text);
      expect(r.status).toBe("success");
      expect(r.data.result[0].value[1]).toBe("3");
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toContain(b.address);
    }
    const series = body((await q.request(`/api/v1/series?match[]=node_load1`)).text);
    expect(series.data).toHaveLength(3);
    expect(series.warnings.join("\n")).toContain(b.address);
    const labels = body((await q.request(`/api/v1/labels`)).text);
    expect(labels.data).toContain("instance");
    expect(labels.warnings.join("\n")).toContain(b.address);
  });

  // Issue 5 asks for a 5xx here, and Meridian classifies store failures as `internal` (500).
  // Thanos itself answers 422 `execution` ("expanding series: proxy Series(): ..."): the PromQL
  // engine does not wrap Select errors in promql.ErrStorage, so its returnAPIError falls through
  // to errorExec (pkg/api/query/v1.go); its label APIs use errorExec directly as well.
  it("fails the request with a 5xx naming the store when partial_response=false", async () => {
    for (const path of [instant("count(node_load1)", "&partial_response=false"), range("node_load1", "&partial_response=false")]) {
      const res = await q.request(path);
      expect(res.status).toBe(500);
      const r = body(res.text);
      expect(r).toMatchObject({ status: "error", errorType: "internal" });
      expect(r.error).toContain(b.address);
    }
    const labels = await q.request(`/api/v1/label/job/values?partial_response=false`);
    expect(labels.status).toBeGreaterThanOrEqual(500);
    expect(body(labels.text).error).toContain(b.address);
  });

  it("shows as unhealthy on /api/v1/stores after the next probe, and is then left out of queries", async () => {
    await q.endpoints.probe();
    const stores = body((await q.request("/api/v1/stores")).text);
    expect(stores.status).toBe("success");
    const all = Object.values(stores.data).flat() as { name: string; health: string; lastError: string | null }[];
    const down = all.find((s) => s.name === b.address)!;
    const up = all.find((s) => s.name === a.address)!;
    expect(down.health).toBe("unhealthy");
    expect(down.lastError).toMatch(/\S/);
    expect(up.health).toBe("healthy");
    expect(up.lastError).toBeNull();
    // Thanos leaves unhealthy (non-strict) endpoints out: no warning any more, data from `a`.
    const r = body((await q.request(instant("count(node_load1)", "&partial_response=false"))).text);
    expect(r.status).toBe("success");
    expect(r.warnings).toBeUndefined();
    expect(r.data.result[0].value[1]).toBe("3");
  });
});

describe("a store that stalls (--store.response-timeout)", () => {
  let ok: TestStore;
  let stalling: TestStore;
  let q: TestQuerier;
  let stalled = 0;
  let released = 0;
  beforeAll(async () => {
    ok = await storeFor("eu", "a");
    // Info, labels and the stream's start work; the Series stream then sends nothing until canceled.
    stalling = await storeFor("us", "a", (api) => ({
      ...api,
      series: (_req, signal) => ({
        async *[Symbol.asyncIterator]() {
          stalled++;
          await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
          released++;
        },
      }),
    }));
    q = await startTestQuerier([ok.address, stalling.address], { replicaLabels: ["replica"], responseTimeoutMs: 300, probeIntervalMs: NEVER });
  });
  afterAll(async () => {
    await q.close();
    await Promise.all([ok.stop(), stalling.stop()]);
  });

  it("turns the silent store into a warning and answers with the others' data", async () => {
    const res = await q.request(instant("count by (cluster) (node_load1)"));
    expect(res.status).toBe(200);
    const r = body(res.text);
    expect(r.data.result).toEqual([{ metric: { cluster: "eu" }, value: [AT / 1000, "3"] }]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toBe(`failed to receive any data in 300ms from ${stalling.address}`);
    expect(stalled).toBeGreaterThan(0);
  });

  it("fails with partial_response=false", async () => {
    const res = await q.request(range("node_load1", "&partial_response=false"));
    expect(res.status).toBe(500);
    expect(body(res.text).error).toContain(`failed to receive any data in 300ms from ${stalling.address}`);
  });

  it("without --store.response-timeout, the query's own timeout ends the wait: 503 timeout, no hang", async () => {
    const patient = await startTestQuerier([ok.address, stalling.address], { replicaLabels: ["replica"], probeIntervalMs: NEVER });
    try {
      const res = await patient.request(instant("count by (cluster) (node_load1)", "&timeout=500ms"));
      expect(res.status).toBe(503);
      expect(body(res.text)).toMatchObject({ status: "error", errorType: "timeout" });
      // The stalled stream is released: the store sees its call canceled.
      const before = stalled;
      await waitFor(() => released >= before, "the stalled Series call to be canceled");
    } finally {
      await patient.close();
    }
  });

  it("storeMatch[] leaving out the stalling store gives a clean answer", async () => {
    const res = await q.request(instant("count by (cluster) (node_load1)", `&storeMatch[]=${enc(`{__address__="${ok.address}"}`)}`));
    const r = body(res.text);
    expect(r.warnings).toBeUndefined();
    expect(r.data.result).toEqual([{ metric: { cluster: "eu" }, value: [AT / 1000, "3"] }]);
  });
});

describe("storeMatch[] restricts the stores asked", () => {
  let eu: TestStore;
  let us: TestStore;
  let q: TestQuerier;
  beforeAll(async () => {
    [eu, us] = await Promise.all([storeFor("eu", "a"), storeFor("us", "a")]);
    q = await startTestQuerier([eu.address, us.address], { replicaLabels: ["replica"] });
  });
  afterAll(async () => {
    await q.close();
    await Promise.all([eu.stop(), us.stop()]);
  });

  const clusters = async (path: string): Promise<string[]> =>
    body((await q.request(path)).text).data.result.map((r: any) => r.metric.cluster).sort();

  it("by exact address, by regex, several selectors, and none matching", async () => {
    const expr = "count by (cluster) (node_load1)";
    expect(await clusters(instant(expr))).toEqual(["eu", "us"]);
    expect(await clusters(instant(expr, `&storeMatch[]=${enc(`{__address__="${us.address}"}`)}`))).toEqual(["us"]);
    expect(await clusters(instant(expr, `&storeMatch[]=${enc(`{__address__=~"127.0.0.1:.*"}`)}`))).toEqual(["eu", "us"]);
    expect(await clusters(instant(expr, `&storeMatch[]=${enc(`{__address__="${us.address}"}`)}&storeMatch[]=${enc(`{__address__="${eu.address}"}`)}`))).toEqual(["eu", "us"]);
    expect(await clusters(instant(expr, `&storeMatch[]=${enc(`{__address__="nowhere:1"}`)}`))).toEqual([]);
  });

  it("applies to series and label APIs too", async () => {
    const only = `storeMatch[]=${enc(`{__address__="${eu.address}"}`)}`;
    const series = body((await q.request(`/api/v1/series?match[]=node_load1&${only}`)).text).data;
    expect(new Set(series.map((s: any) => s.cluster))).toEqual(new Set(["eu"]));
    expect(body((await q.request(`/api/v1/label/cluster/values?${only}`)).text).data).toEqual(["eu"]);
  });

  it("rejects a bad storeMatch[] selector with 400", async () => {
    const res = await q.request(instant("up", `&storeMatch[]=${enc("{__address__=")}`));
    expect(res.status).toBe(400);
    expect(body(res.text)).toMatchObject({ status: "error", errorType: "bad_data" });
  });
});

describe("global querier over two regional queriers", () => {
  let stores: TestStore[] = [];
  let regional: TestQuerier[] = [];
  let global: TestQuerier;
  let flat: TestQuerier;
  beforeAll(async () => {
    stores = await Promise.all([storeFor("eu", "a"), storeFor("eu", "b"), storeFor("us", "a"), storeFor("us", "b")]);
    regional = await Promise.all([
      startTestQuerier([stores[0]!.address, stores[1]!.address], { replicaLabels: ["replica"], grpc: true }),
      startTestQuerier([stores[2]!.address, stores[3]!.address], { replicaLabels: ["replica"], grpc: true }),
    ]);
    global = await startTestQuerier(regional.map((r) => r.grpcAddress!), { replicaLabels: ["replica"] });
    flat = await startTestQuerier(stores.map((s) => s.address), { replicaLabels: ["replica"] });
  });
  afterAll(async () => {
    await Promise.all([global?.close(), flat?.close(), ...regional.map((r) => r.close())]);
    await Promise.all(stores.map((s) => s.stop()));
    stores = [];
    regional = [];
  });

  it("lists the regional queriers as component `query` with their label sets", async () => {
    const r = body((await global.request("/api/v1/stores")).text);
    expect(r.data.query).toHaveLength(2);
    const sets = r.data.query.map((s: any) => s.labelSets.map((l: any) => `${l.cluster}/${l.replica}`).sort().join(",")).sort();
    expect(sets).toEqual(["eu/a,eu/b", "us/a,us/b"]);
    for (const s of r.data.query) expect(s.health).toBe("healthy");
    // Each regional querier's advertised time range is the union of its stores' ranges.
    for (const [i, reg] of regional.entries()) {
      const own = Object.values(body((await reg.request("/api/v1/stores")).text).data).flat() as { minTime: number; maxTime: number }[];
      const seen = r.data.query.find((s: any) => s.name === reg.grpcAddress);
      expect(seen, `regional ${i}`).toBeDefined();
      expect(seen.minTime).toBe(Math.min(...own.map((s) => s.minTime)));
      expect(seen.maxTime).toBe(Math.max(...own.map((s) => s.maxTime)));
    }
  });

  it("answers every query byte for byte as one querier over all stores", async () => {
    const paths = [
      instant("count by (cluster) (node_load1)"),
      instant("sum by (cluster, job) (rate(http_requests_total[5m]))"),
      instant("http_requests_total", "&dedup=false"),
      instant('node_load1{cluster="us"}'),
      range("sum by (cluster) (rate(http_requests_total[5m]))"),
      range("node_load1"),
      range("resets(http_requests_total[30m])"),
      range("histogram_quantile(0.9, sum by (cluster, le) (rate(http_request_duration_seconds_bucket[5m])))"),
      range("node_load1", "&dedup=false"),
      `/api/v1/series?match[]=${enc("http_requests_total")}`,
      `/api/v1/series?match[]=${enc("node_load1")}&dedup=false`,
      `/api/v1/labels`,
      `/api/v1/label/cluster/values`,
      `/api/v1/label/replica/values?dedup=false`,
    ];
    const diffs: string[] = [];
    for (const path of paths) {
      const [g, f] = await Promise.all([global.request(path), flat.request(path)]);
      expect(g.status, g.text).toBe(200);
      if (g.text !== f.text) diffs.push(`${decodeURIComponent(path)}\n  global ${g.text.slice(0, 400)}\n  flat   ${f.text.slice(0, 400)}`);
    }
    expect(diffs).toEqual([]);
  });

  it("deduplicates across the regional hop: gap-free series without replica labels", async () => {
    const r = body((await global.request(range('node_load1{instance="10.0.0.1:9100"}'))).text);
    expect(r.data.result.map((s: any) => s.metric)).toEqual([
      { __name__: "node_load1", cluster: "eu", instance: "10.0.0.1:9100", job: "node" },
      { __name__: "node_load1", cluster: "us", instance: "10.0.0.1:9100", job: "node" },
    ]);
    // Every minute step from the first sample to the end has a value (replica b's gap filled by a).
    for (const s of r.data.result) expect(s.values).toHaveLength(COMPAT_HOURS * 60);
  });

  it("turns a regional querier that went away into a warning on the global one (runs last)", async () => {
    await regional[1]!.close();
    const r = body((await global.request(instant("count by (cluster) (node_load1)"))).text);
    expect(r.status).toBe("success");
    expect(r.data.result).toEqual([{ metric: { cluster: "eu" }, value: [AT / 1000, "3"] }]);
    expect(r.warnings.join("\n")).toContain(regional[1]!.grpcAddress!);
  });
});

describe("--endpoint.sd-config-file reload", () => {
  let eu: TestStore;
  let us: TestStore;
  let q: TestQuerier;
  let dir = "";
  let file = "";
  beforeAll(async () => {
    [eu, us] = await Promise.all([storeFor("eu", "a"), storeFor("us", "a")]);
    dir = await mkdtemp(join(tmpdir(), "meridian-sd-"));
    file = join(dir, "endpoints.yaml");
    await writeFile(file, `endpoints:\n  - address: ${eu.address}\n`);
    q = await startTestQuerier([], { replicaLabels: ["replica"], sdFile: file, probeIntervalMs: NEVER });
  });
  afterAll(async () => {
    await q.close();
    await Promise.all([eu.stop(), us.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const clusters = async (): Promise<string[]> =>
    body((await q.request(instant("count by (cluster) (node_load1)"))).text).data.result.map((r: any) => r.metric.cluster).sort();
  const storeNames = async (): Promise<string[]> =>
    (Object.values(body((await q.request("/api/v1/stores")).text).data).flat() as { name: string }[]).map((s) => s.name).sort();

  /** Replaces the file atomically, as config management tools do. */
  async function edit(text: string): Promise<void> {
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  }

  it("starts with the file's endpoints", async () => {
    expect(await storeNames()).toEqual([eu.address]);
    expect(await clusters()).toEqual(["eu"]);
  });

  it("adds an endpoint written into the file", async () => {
    await edit(`endpoints:\n  - address: ${eu.address}\n  - address: ${us.address}\n`);
    await waitFor(async () => (await storeNames()).length === 2, "the added endpoint");
    await waitFor(async () => (await clusters()).length === 2, "data from the added endpoint");
    expect(await clusters()).toEqual(["eu", "us"]);
  });

  it("keeps the last good list when an edit is invalid", async () => {
    await edit("endpoints: [ {address: ");
    // Give the watcher time to see (and reject) the edit, then check nothing changed.
    await new Promise((r) => setTimeout(r, 300));
    expect(await storeNames()).toEqual([eu.address, us.address].sort());
  });

  it("removes an endpoint deleted from the file", async () => {
    await edit(`- ${us.address}\n`);
    await waitFor(async () => (await storeNames()).length === 1, "the removed endpoint to go");
    expect(await storeNames()).toEqual([us.address]);
    expect(await clusters()).toEqual(["us"]);
  });
});
