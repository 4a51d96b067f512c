/**
 * The querier's endpoint layer against real StoreAPI servers on loopback: native gRPC (h2c) and
 * Connect endpoints, Info probing, store selection by time and external labels, k-way merge with
 * folding and chunk dedup, partial response, response timeout, SD-file reload, bearer tokens and a
 * querier used as an endpoint by another querier.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, SeriesRequestSchema, SeriesResponseSchema } from "../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest } from "../gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type, PartialResponseStrategy } from "../gen/store/storepb/types_pb.ts";
import type { AggrChunk, Series } from "../gen/store/storepb/types_pb.ts";
import { createMatcher } from "../model/matcher.ts";
import { createEndpointSet } from "./endpoint-set.ts";
import type { EndpointSet } from "./endpoint-set.ts";
import { createFanoutStoreApi } from "./fanout-store-api.ts";
import { collectSeries, dedupChunks, fanoutSeries, mergeChunkParts } from "./fanout.ts";
import { createStoreClient } from "./store-client.ts";
import { createComponentApp } from "../server/app.ts";
import { createMetricsRegistry } from "../server/metrics.ts";
import type { MetricsRegistry } from "../server/metrics.ts";
import { createTestStore } from "../server/test-store.ts";
import type { TestStoreOptions } from "../server/test-store.ts";
import { watchEndpointSdFile } from "../runtime/node/endpoint-sd-file.ts";
import { startGrpcServer, startHttpServer } from "../runtime/node/serve.ts";
import type { RunningServer } from "../runtime/node/serve.ts";
import { createNodeTransportFactory } from "../runtime/node/store-transport.ts";

const enc = new TextEncoder();
const transportFactory = createNodeTransportFactory();
const servers: RunningServer[] = [];
const sets: EndpointSet[] = [];

interface Served { address: string; metrics: MetricsRegistry }

async function serveGrpc(opts: TestStoreOptions, bearerToken?: string): Promise<Served> {
  const metrics = createMetricsRegistry();
  const s = await startGrpcServer({ address: "127.0.0.1:0", storeApi: createTestStore(opts), metrics, ...(bearerToken ? { bearerToken } : {}) });
  servers.push(s);
  return { address: `127.0.0.1:${s.port}`, metrics };
}

async function serveConnect(opts: TestStoreOptions): Promise<Served> {
  const metrics = createMetricsRegistry();
  const app = createComponentApp({ storeApi: createTestStore(opts), ready: () => true, metrics });
  const s = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch });
  servers.push(s);
  return { address: `http://127.0.0.1:${s.port}`, metrics };
}

function seriesCalls(s: Served): number {
  return ["unary", "server_stream"].reduce((n, t) => n + (s.metrics.counter("grpc_server_started_total", "", ["grpc_type", "grpc_service", "grpc_method"]) as { get(v: Record<string, string>): number }).get({ grpc_type: t, grpc_service: "thanos.Store", grpc_method: "Series" }), 0);
}

function endpointSet(addresses: string[], extra: { infoTimeoutMs?: number } = {}): EndpointSet {
  const set = createEndpointSet({
    staticEndpoints: addresses.map((address) => ({ address })),
    clientFactory: (spec) => createStoreClient(spec.address, { transportFactory, ...(spec.bearerToken ? { bearerToken: spec.bearerToken } : {}) }),
    ...extra,
  });
  sets.push(set);
  return set;
}

const chunk = (minTime: number, maxTime: number, text: string, hash = 0n) => ({ minTime, maxTime, data: enc.encode(text), hash });
const text = (s: Series) => s.chunks.map((c) => new TextDecoder().decode(c.raw!.data));
const names = (series: Series[]) => series.map((s) => s.labels.map((l) => `${l.name}=${l.value}`).join(","));
const req = (m: Record<string, string>, extra: MessageInitShape<typeof SeriesRequestSchema> = {}) =>
  create(SeriesRequestSchema, { minTime: 0n, maxTime: 10_000n, matchers: Object.entries(m).map(([name, value]) => ({ type: LabelMatcher_Type.RE, name, value })), ...extra });

let replicaA: Served;
let replicaB: Served;
let us: Served;
let old: Served;

beforeAll(async () => {
  // Two HA replicas of one Prometheus: same series, overlapping chunks (one identical by hash, one
  // identical by bytes without hash, one only in each replica).
  replicaA = await serveGrpc({
    externalLabels: { cluster: "eu", replica: "a" },
    series: [
      { labels: { __name__: "up", job: "api" }, chunks: [chunk(0, 99, "A0", 7n), chunk(100, 199, "S1"), chunk(200, 299, "A2")] },
      { labels: { __name__: "up", job: "db" }, chunks: [chunk(0, 99, "D0", 9n)] },
    ],
  });
  replicaB = await serveConnect({
    externalLabels: { cluster: "eu", replica: "b" },
    series: [
      { labels: { __name__: "up", job: "api" }, chunks: [chunk(0, 99, "A0-copy-same-hash", 7n), chunk(100, 199, "S1"), chunk(50, 149, "B1")] },
      { labels: { __name__: "up", job: "web" }, chunks: [chunk(0, 99, "W0")] },
    ],
  });
  us = await serveGrpc({ externalLabels: { cluster: "us" }, series: [{ labels: { __name__: "up", job: "api" }, chunks: [chunk(5000, 5999, "U0")] }] });
  old = await serveGrpc({
    ignoreWithoutReplicaLabels: true,
    externalLabels: { cluster: "old" },
    series: [
      { labels: { __name__: "up", job: "x", replica: "1" }, chunks: [chunk(0, 9, "O1")] },
      { labels: { __name__: "up", job: "x", replica: "0" }, chunks: [chunk(0, 9, "O0")] },
      { labels: { __name__: "up", job: "w", replica: "2" }, chunks: [chunk(0, 9, "O2")] },
    ],
  });
});

afterAll(async () => {
  for (const s of sets) s.close();
  await Promise.all(servers.map((s) => s.close(1000)));
});

describe("endpoint set", () => {
  it("probes Info over gRPC and Connect and tracks health, type, labels and time range", async () => {
    const dead = await startGrpcServer({ address: "127.0.0.1:0", storeApi: createTestStore({ series: [] }) });
    await dead.close();
    const set = endpointSet([replicaA.address, replicaB.address, `127.0.0.1:${dead.port}`]);
    set.start();
    await set.firstProbe;
    const st = set.statuses();
    const a = st.find((s) => s.address === replicaA.address)!;
    const b = st.find((s) => s.address === replicaB.address)!;
    const d = st.find((s) => s.address.endsWith(`:${dead.port}`))!;
    expect(a).toMatchObject({ health: "healthy", protocol: "grpc", componentType: "store", minTime: 0, maxTime: 299, hasStoreApi: true, supportsWithoutReplicaLabels: true });
    expect(a.labelSets.map((l) => l.map((x) => `${x.name}=${x.value}`))).toEqual([["cluster=eu", "replica=a"]]);
    expect(b).toMatchObject({ health: "healthy", protocol: "connect", maxTime: 199 });
    expect(d.health).toBe("unhealthy");
    expect(d.lastError).toMatch(/Unavailable/);
    expect(set.stores().map((e) => e.address).sort()).toEqual([replicaA.address, replicaB.address].sort());
  });
});

describe("fan-out and merge", () => {
  let set: EndpointSet;
  beforeAll(async () => {
    set = endpointSet([replicaA.address, replicaB.address, us.address, old.address]);
    await set.probe();
  });

  it("merges replicas in label order, folds equal series and drops identical chunks", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const { series, warnings } = await collectSeries(api.seriesWith(req({ cluster: "eu" }, { withoutReplicaLabels: ["replica"] })));
    expect(warnings).toEqual([]);
    expect(names(series)).toEqual([
      "__name__=up,cluster=eu,job=api",
      "__name__=up,cluster=eu,job=db",
      "__name__=up,cluster=eu,job=web",
    ]);
    // A0 (hash 7) and its same-hash copy fold to one; S1 (no hash, same bytes) to one; sorted by min time.
    expect(text(series[0]!)).toEqual(["A0", "B1", "S1", "A2"]);
  });

  it("keeps replicas apart without replica stripping", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const { series } = await collectSeries(api.seriesWith(req({ cluster: "eu", job: "api" })));
    expect(names(series)).toEqual(["__name__=up,cluster=eu,job=api,replica=a", "__name__=up,cluster=eu,job=api,replica=b"]);
  });

  it("only asks stores whose time range and external labels can match", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const before = [replicaA, replicaB, us, old].map(seriesCalls);
    await collectSeries(api.seriesWith(req({ cluster: "us" })));
    await collectSeries(api.seriesWith(req({ job: "api" }, { minTime: 0n, maxTime: 1000n })));
    const after = [replicaA, replicaB, us, old].map(seriesCalls);
    // us: once (cluster=us); eu replicas: once (time 0..1000); old: once (time matches, cluster unconstrained).
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1, 1]);
    const usOnly = await collectSeries(api.seriesWith(req({ cluster: "us" })));
    expect(names(usOnly.series)).toEqual(["__name__=up,cluster=us,job=api"]);
  });

  it("strips replica labels for stores that cannot and re-sorts their stream", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const { series } = await collectSeries(api.seriesWith(req({ cluster: "old" }, { withoutReplicaLabels: ["replica"] })));
    expect(names(series)).toEqual(["__name__=up,cluster=old,job=w", "__name__=up,cluster=old,job=x"]);
    expect(text(series[1]!)).toEqual(["O0", "O1"]);
  });

  it("honours limit and storeMatch[]", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const limited = await collectSeries(api.seriesWith(req({ cluster: "eu" }, { withoutReplicaLabels: ["replica"], limit: 2n })));
    expect(limited.series).toHaveLength(2);
    const onlyA = await collectSeries(api.seriesWith(req({ cluster: "eu" }), { storeMatchers: [[createMatcher("=", "__address__", replicaA.address)]] }));
    expect(names(onlyA.series).every((n) => n.endsWith("replica=a"))).toBe(true);
    expect(onlyA.series).toHaveLength(2);
  });

  it("answers LabelNames and LabelValues by merging stores", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const ln = await api.labelNames(create(LabelNamesRequestSchema, { withoutReplicaLabels: ["replica"] }), new AbortController().signal);
    expect(ln.names).toEqual(["__name__", "cluster", "job"]);
    const lv = await api.labelValues(create(LabelValuesRequestSchema, { label: "job", matchers: [{ name: "cluster", value: "eu" }] }), new AbortController().signal);
    expect(lv.values).toEqual(["api", "db", "web"]);
  });

  it("turns label API failures into warnings, or Aborted without partial response", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const signal = new AbortController().signal;
    const res = await api.labelValues(create(LabelValuesRequestSchema, { label: "__internal_error__", matchers: [{ name: "cluster", value: "eu" }] }), signal);
    expect(res.values).toEqual([]);
    expect(res.warnings).toHaveLength(2);
    expect(res.warnings[0]).toMatch(/fetch label values from .*boom: test failure/);
    const err = await api.labelValues(create(LabelValuesRequestSchema, { label: "__internal_error__", partialResponseStrategy: PartialResponseStrategy.ABORT }), signal).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Aborted);
  });

  it("batches the querier's own Series output when asked", async () => {
    const api = createFanoutStoreApi({ endpoints: set });
    const frames = [];
    for await (const f of api.series(req({ cluster: "eu" }, { withoutReplicaLabels: ["replica"], responseBatchSize: 2n }), new AbortController().signal)) frames.push(f);
    expect(frames.map((f) => (f.result.case === "batch" ? f.result.value.series.length : f.result.case))).toEqual([2, 1]);
  });
});

describe("partial response", () => {
  it("turns a failing store into a warning, or fails the query with ABORT", async () => {
    const failing = await serveGrpc({
      externalLabels: { cluster: "bad" },
      series: [{ labels: { job: "a" }, chunks: [chunk(0, 9, "x")] }, { labels: { job: "b" }, chunks: [chunk(0, 9, "y")] }],
      beforeFrame: (i) => { if (i === 1) throw new Error("disk on fire"); },
    });
    const set = endpointSet([replicaA.address, failing.address]);
    await set.probe();
    const api = createFanoutStoreApi({ endpoints: set });
    const warn = await collectSeries(api.seriesWith(req({ job: ".*" })));
    expect(warn.warnings).toHaveLength(1);
    expect(warn.warnings[0]).toContain(`receive series from ${failing.address}`);
    expect(warn.warnings[0]).toContain("disk on fire");
    expect(names(warn.series)).toContain("__name__=up,cluster=eu,job=api,replica=a");

    const err = await collectSeries(api.seriesWith(req({ job: ".*" }, { partialResponseStrategy: PartialResponseStrategy.ABORT }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Aborted);
    expect((err as ConnectError).rawMessage).toContain("disk on fire");
  });

  it("drops a store that stays silent longer than the response timeout", async () => {
    const silent = await serveGrpc({
      externalLabels: { cluster: "slow" },
      series: [{ labels: { job: "s" }, chunks: [chunk(0, 9, "x")] }],
      beforeFrame: (_i, signal) => new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
    });
    const set = endpointSet([replicaA.address, silent.address]);
    await set.probe();
    const api = createFanoutStoreApi({ endpoints: set, responseTimeoutMs: 300 });
    const res = await collectSeries(api.seriesWith(req({ job: ".*" })));
    expect(res.warnings).toEqual([`failed to receive any data in 300ms from ${silent.address}`]);
    expect(res.series.length).toBe(2);
    const abort = await collectSeries(api.seriesWith(req({ job: ".*" }, { partialResponseDisabled: true }))).catch((e: unknown) => e);
    expect((abort as ConnectError).code).toBe(Code.Aborted);
  });

  it("fails (never truncates silently) when the caller cancels while a store hangs", async () => {
    let stalled!: () => void;
    const isStalled = new Promise<void>((r) => { stalled = r; });
    const hanging = await serveGrpc({
      externalLabels: { cluster: "hang" },
      series: [{ labels: { job: "h" }, chunks: [chunk(0, 9, "x")] }],
      beforeFrame: (_i, signal) => { stalled(); return new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })); },
    });
    const set = endpointSet([replicaA.address, hanging.address]);
    await set.probe();
    const api = createFanoutStoreApi({ endpoints: set });
    const ac = new AbortController();
    const pending = collectSeries(api.seriesWith(req({ job: ".*" }), { signal: ac.signal })).catch((e: unknown) => e);
    await isStalled;
    ac.abort(new Error("query timed out"));
    expect(await pending).toEqual(new Error("query timed out"));
  });

  it("forwards store warnings, and ABORT turns them into errors", async () => {
    const warner = await serveConnect({ warnings: ["block 01X is corrupt"], series: [{ labels: { job: "w" }, chunks: [chunk(0, 9, "x")] }] });
    const stores = [{ name: warner.address, series: (r: SeriesRequest, s: AbortSignal) => createStoreClient(warner.address, { transportFactory }).series(r, s) }];
    const res = await collectSeries(fanoutSeries(stores, req({ job: ".*" })));
    expect(res.warnings).toEqual(["block 01X is corrupt"]);
    expect(res.series).toHaveLength(1);
    const err = await collectSeries(fanoutSeries(stores, req({ job: ".*" }, { partialResponseStrategy: PartialResponseStrategy.ABORT }))).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Aborted);
  });
});

describe("SD file, tokens and querier of queriers", () => {
  it("reloads the SD file, keeps the last good list on a bad edit, and sends per-endpoint tokens", async () => {
    const secured = await serveGrpc({ externalLabels: { cluster: "sec" }, series: [{ labels: { job: "s" }, chunks: [chunk(0, 9, "x")] }] }, "tok");
    const dir = mkdtempSync(join(tmpdir(), "meridian-sd-"));
    try {
      const file = join(dir, "sd.yml");
      writeFileSync(file, `endpoints:\n  - address: ${replicaA.address}\n`);
      const set = endpointSet([]);
      const errors: string[] = [];
      const watch = await watchEndpointSdFile(file, (specs) => set.setDynamic(specs), { onError: (e) => errors.push(e.message) });
      try {
        expect(set.statuses().map((s) => [s.address, s.health, s.source])).toEqual([[replicaA.address, "healthy", "file"]]);
        writeFileSync(file, `- ${us.address}\n- address: ${secured.address}\n  bearer_token: tok\n`);
        await watch.reload();
        const st = set.statuses();
        expect(st.map((s) => s.address).sort()).toEqual([us.address, secured.address].sort());
        expect(st.every((s) => s.health === "healthy")).toBe(true);
        writeFileSync(file, "- not an address\n");
        await watch.reload();
        expect(errors).toHaveLength(1);
        expect(errors[0]).toContain(file);
        expect(set.statuses()).toHaveLength(2);
      } finally {
        watch.close();
      }
      // Without the token the same endpoint is unhealthy (Unauthenticated).
      const noToken = endpointSet([secured.address]);
      await noToken.probe();
      expect(noToken.statuses()[0]!.lastError).toMatch(/Unauthenticated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("forwards the tenant through a querier to the stores", async () => {
    const seen: string[] = [];
    const tenantStore = await serveGrpc({
      externalLabels: { cluster: "ten" },
      series: [{ labels: { job: "t" }, chunks: [chunk(0, 9, "x")] }],
      onCall: (method, call) => seen.push(`${method}:${call?.tenant ?? "-"}`),
    });
    const lower = endpointSet([tenantStore.address]);
    await lower.probe();
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: createFanoutStoreApi({ endpoints: lower }) });
    servers.push(server);
    const upper = endpointSet([`127.0.0.1:${server.port}`]);
    await upper.probe();
    const api = createFanoutStoreApi({ endpoints: upper });
    await collectSeries(api.seriesWith(req({ job: "t" }), { tenant: "team-a" }));
    await api.labelNamesWith(create(LabelNamesRequestSchema, {}), { tenant: "team-b" });
    await collectSeries(api.seriesWith(req({ job: "t" })));
    expect(seen).toEqual(["series:team-a", "labelNames:team-b", "series:-"]);
  });

  it("uses a querier as an endpoint of another querier", async () => {
    const lower = endpointSet([replicaA.address, replicaB.address]);
    await lower.probe();
    const metrics = createMetricsRegistry();
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: createFanoutStoreApi({ endpoints: lower }), metrics });
    servers.push(server);
    const upper = endpointSet([`127.0.0.1:${server.port}`, us.address]);
    await upper.probe();
    const q = upper.statuses().find((s) => s.componentType === "query")!;
    expect(q.health).toBe("healthy");
    expect(q.labelSets.map((l) => l.map((x) => x.value).join("/"))).toEqual(["eu/a", "eu/b"]);
    expect([q.minTime, q.maxTime]).toEqual([0, 299]);
    const api = createFanoutStoreApi({ endpoints: upper });
    const { series } = await collectSeries(api.seriesWith(req({ job: "api" }, { withoutReplicaLabels: ["replica"], responseBatchSize: 64n })));
    expect(names(series)).toEqual(["__name__=up,cluster=eu,job=api", "__name__=up,cluster=us,job=api"]);
    expect(text(series[0]!)).toEqual(["A0", "B1", "S1", "A2"]);
  });
});

describe("in-process fan-out", () => {
  const frame = (labels: Record<string, string>, ...texts: [number, string][]) => create(SeriesResponseSchema, {
    result: { case: "series", value: { labels: Object.entries(labels).map(([name, value]) => ({ name, value })), chunks: texts.map(([t, d]) => ({ minTime: BigInt(t), maxTime: BigInt(t + 9), raw: { data: enc.encode(d) } })) } },
  });
  const storeOf = (name: string, frames: ReturnType<typeof frame>[]) => ({ name, async *series() { yield* frames; } });

  it("folds a series split over consecutive frames and across stores", async () => {
    const a = storeOf("a", [frame({ job: "x" }, [20, "a2"]), frame({ job: "x" }, [0, "a0"]), frame({ job: "y" }, [0, "ay"])]);
    const b = storeOf("b", [frame({ job: "w" }, [0, "bw"]), frame({ job: "x" }, [10, "b1"], [0, "a0"])]);
    const { series } = await collectSeries(fanoutSeries([a, b], req({})));
    expect(names(series)).toEqual(["job=w", "job=x", "job=y"]);
    expect(text(series[1]!)).toEqual(["a0", "b1", "a2"]);
  });
});

describe("dedupChunks", () => {
  const c = (min: number, max: number, data: string, hash = 0n) => ({
    $typeName: "thanos.AggrChunk" as const, minTime: BigInt(min), maxTime: BigInt(max),
    raw: { $typeName: "thanos.Chunk" as const, type: 0, data: enc.encode(data), hash },
  });
  it("sorts by time and drops same-hash or same-bytes chunks only", () => {
    const out = dedupChunks([c(10, 20, "b"), c(0, 9, "a", 5n), c(0, 9, "z", 5n), c(10, 20, "b"), c(10, 20, "b2"), c(0, 9, "a", 6n)]);
    expect(out.map((x) => new TextDecoder().decode(x.raw!.data))).toEqual(["a", "a", "b", "b2"]);
  });

  it("mergeChunkParts equals dedupChunks of the concatenation (fast-check)", () => {
    const chunk = fc
      .tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom("a", "b", "c"), fc.constantFrom(0n, 1n, 2n))
      .map(([min, len, d, h]) => c(min, min + len, d, h));
    const part = fc.tuple(fc.array(chunk, { maxLength: 8 }), fc.boolean()).map(([xs, sort]) => {
      if (!sort) return xs;
      // Strictly ordered by time range, as one store sends them.
      const sorted = [...xs].sort((x, y) => Number(x.minTime - y.minTime) || Number(x.maxTime - y.maxTime));
      return sorted.filter((x, i) => i === 0 || x.minTime !== sorted[i - 1]!.minTime || x.maxTime !== sorted[i - 1]!.maxTime);
    });
    const key = (xs: readonly AggrChunk[]) => xs.map((x) => `${x.minTime}-${x.maxTime}-${new TextDecoder().decode(x.raw!.data)}-${x.raw!.hash}`);
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 3 }), (parts) => {
        expect(key(mergeChunkParts(parts))).toEqual(key(dedupChunks(parts.flat())));
      }),
      { numRuns: 1000 },
    );
  });
});
