/**
 * Serves an in-memory StoreApi over native gRPC (h2c) and over Connect/gRPC-Web through the Hono
 * app on real loopback servers, and calls it with connect-node clients of all three protocols.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.ts";
import { Info } from "../../gen/info/infopb/rpc_pb.ts";
import { SeriesRequestSchema, Store } from "../../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest, SeriesResponse } from "../../gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../../gen/store/storepb/types_pb.ts";
import { createComponentApp } from "../../server/app.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createTestStore } from "../../server/test-store.ts";
import { startGrpcServer, startHttpServer } from "./serve.ts";
import type { RunningServer } from "./serve.ts";

const enc = new TextEncoder();
const store = createTestStore({
  externalLabels: { cluster: "eu" },
  series: [
    { labels: { __name__: "up", job: "b" }, chunks: [{ minTime: 0, maxTime: 100, data: enc.encode("c1"), hash: 11n }] },
    { labels: { __name__: "up", job: "a" }, chunks: [{ minTime: 0, maxTime: 100, data: enc.encode("c2"), hash: 12n }, { minTime: 101, maxTime: 200, data: enc.encode("c3") }] },
    { labels: { __name__: "down", job: "a" }, chunks: [{ minTime: 50, maxTime: 60, data: enc.encode("c4") }] },
  ],
});

const TOKEN = "s3cret-token";
let ready = false;
const metrics = createMetricsRegistry();
let grpc: RunningServer;
let grpcAuth: RunningServer;
let http: RunningServer;
let httpAuth: RunningServer;

beforeAll(async () => {
  grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store, metrics });
  grpcAuth = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store, bearerToken: TOKEN });
  const app = createComponentApp({ storeApi: store, ready: () => ready, metrics, cors: ["http://allowed.example"] });
  http = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch });
  const appAuth = createComponentApp({ storeApi: store, ready: () => true, metrics: createMetricsRegistry(), bearerToken: TOKEN });
  httpAuth = await startHttpServer({ address: "127.0.0.1:0", fetch: appAuth.fetch });
});

afterAll(async () => {
  await Promise.all([grpc?.close(), grpcAuth?.close(), http?.close(), httpAuth?.close()]);
});

const transportFactories: [string, () => Transport][] = [
  ["grpc", () => createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpc.port}` })],
  ["connect", () => createConnectTransport({ baseUrl: `http://127.0.0.1:${http.port}`, httpVersion: "1.1" })],
  ["grpc-web", () => createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${http.port}`, httpVersion: "1.1" })],
];

function transports(): [string, Transport][] {
  return transportFactories.map(([n, f]) => [n, f()]);
}

async function collect(client: Client<typeof Store>, req: SeriesRequest, opts?: { headers?: Record<string, string> }): Promise<SeriesResponse[]> {
  const out: SeriesResponse[] = [];
  for await (const f of client.series(req, opts)) out.push(f);
  return out;
}

function seriesLabels(frames: SeriesResponse[]): string[] {
  return frames.flatMap((f) => (f.result.case === "series" ? [f.result.value.labels.map((l) => `${l.name}=${l.value}`).join(",")] : []));
}

async function codeOf(p: Promise<unknown>): Promise<Code | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

describe.each(transportFactories)("StoreAPI over %s", (_name, makeTransport) => {
  let client: Client<typeof Store>;
  beforeAll(() => { client = createClient(Store, makeTransport()); });

  it("streams Series sorted by labels with chunks", async () => {
    const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 1000n, matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "up" }] });
    const frames = await collect(client, req);
    expect(seriesLabels(frames)).toEqual(["__name__=up,cluster=eu,job=a", "__name__=up,cluster=eu,job=b"]);
    const first = frames[0]!.result;
    expect(first.case).toBe("series");
    if (first.case === "series") {
      expect(first.value.chunks.map((c) => new TextDecoder().decode(c.raw!.data))).toEqual(["c2", "c3"]);
      expect(first.value.chunks[0]!.raw!.hash).toBe(12n);
    }
  });

  it("maps a bad regex to InvalidArgument and store errors to their codes", async () => {
    const bad = create(SeriesRequestSchema, { matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: "(" }] });
    expect(await codeOf(collect(client, bad))).toBe(Code.InvalidArgument);
    const unknownType = create(SeriesRequestSchema, { matchers: [{ type: 7 as LabelMatcher_Type, name: "job", value: "a" }] });
    expect(await codeOf(collect(client, unknownType))).toBe(Code.InvalidArgument);
    const limited = create(SeriesRequestSchema, { matchers: [{ name: "__limit_test__", value: "x" }] });
    expect(await codeOf(collect(client, limited))).toBe(Code.ResourceExhausted);
    expect(await codeOf(client.labelValues({ label: "__internal_error__" }))).toBe(Code.Internal);
  });

  it("answers LabelNames and LabelValues", async () => {
    expect((await client.labelNames({ start: 0n, end: 1000n })).names).toEqual(["__name__", "cluster", "job"]);
    const lv = await client.labelValues({ label: "job", matchers: [{ name: "__name__", value: "down" }] });
    expect(lv.values).toEqual(["a"]);
  });
});

describe("JSON clients (ordinary codec, not the binary fast path)", () => {
  it.each([
    ["connect+json", () => createConnectTransport({ baseUrl: `http://127.0.0.1:${http.port}`, httpVersion: "1.1", useBinaryFormat: false })],
    ["grpc+json", () => createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpc.port}`, useBinaryFormat: false })],
  ] as const)("streams Series over %s", async (_name, make) => {
    const client = createClient(Store, make());
    const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 1000n, matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "up" }] });
    const frames = await collect(client, req);
    expect(seriesLabels(frames)).toEqual(["__name__=up,cluster=eu,job=a", "__name__=up,cluster=eu,job=b"]);
    const first = frames[0]!.result;
    if (first.case === "series") expect(first.value.chunks[0]!.raw!.hash).toBe(12n);
  });
});

describe("Info and readiness", () => {
  it("reports Unavailable until ready over Connect, then the store's info; gRPC server has no readiness gate", async () => {
    const connectInfo = createClient(Info, transports()[1]![1]);
    ready = false;
    expect(await codeOf(connectInfo.info({}))).toBe(Code.Unavailable);
    expect((await fetch(`http://127.0.0.1:${http.port}/-/ready`)).status).toBe(503);
    ready = true;
    expect((await fetch(`http://127.0.0.1:${http.port}/-/ready`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${http.port}/-/healthy`)).status).toBe(200);
    const info = await connectInfo.info({});
    expect(info.ComponentType).toBe("store");
    expect(info.labelSets[0]!.labels).toEqual([expect.objectContaining({ name: "cluster", value: "eu" })]);
    expect(info.store!.maxTime).toBe(200n);
    const grpcInfo = await createClient(Info, transports()[0]![1]).info({});
    expect(grpcInfo.store!.minTime).toBe(0n);
  });
});

describe("/metrics", () => {
  it("renders parseable text with RPC and HTTP metrics", async () => {
    const res = await fetch(`http://127.0.0.1:${http.port}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const text = await res.text();
    const sampleRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (NaN|[+-]Inf|-?[0-9.e+-]+)$/;
    for (const line of text.trimEnd().split("\n")) {
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
      expect(line).toMatch(sampleRe);
    }
    expect(text).toMatch(/grpc_server_handled_total\{grpc_type="server_stream",grpc_service="thanos.Store",grpc_method="Series",grpc_code="InvalidArgument"\} [1-9]/);
    expect(text).toMatch(/grpc_server_handled_total\{grpc_type="unary",grpc_service="thanos.Store",grpc_method="LabelValues",grpc_code="Internal"\} [1-9]/);
    expect(text).toMatch(/http_requests_total\{code="503",handler="\/-\/ready",method="GET"\} 1/);
    expect(text).toContain('grpc_server_handling_seconds_bucket{grpc_type="unary",grpc_service="thanos.info.Info",grpc_method="Info",le="+Inf"}');
  });
});

describe("bearer token", () => {
  const cases: [string, Record<string, string> | undefined, Code | undefined][] = [
    ["no token", undefined, Code.Unauthenticated],
    ["wrong token", { authorization: `Bearer ${TOKEN}x` }, Code.Unauthenticated],
    ["wrong scheme", { authorization: `Basic ${TOKEN}` }, Code.Unauthenticated],
    ["right token", { authorization: `Bearer ${TOKEN}` }, undefined],
  ];
  const authTransports = (): [string, Transport][] => [
    ["grpc", createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcAuth.port}` })],
    ["connect", createConnectTransport({ baseUrl: `http://127.0.0.1:${httpAuth.port}`, httpVersion: "1.1" })],
    ["grpc-web", createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${httpAuth.port}`, httpVersion: "1.1" })],
  ];
  it.each(cases)("%s", async (_name, headers, want) => {
    for (const [proto, t] of authTransports()) {
      const client = createClient(Store, t);
      const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 1000n, matchers: [{ name: "job", value: "a" }] });
      let err: ConnectError | undefined;
      let frames: SeriesResponse[] = [];
      try {
        frames = await collect(client, req, headers ? { headers } : undefined);
      } catch (e) {
        err = ConnectError.from(e);
      }
      expect({ proto, code: err?.code }).toEqual({ proto, code: want });
      if (want === undefined) expect(seriesLabels(frames)).toHaveLength(2);
      else expect(err!.rawMessage).toBe("unauthenticated");
    }
    const m = await fetch(`http://127.0.0.1:${httpAuth.port}/metrics`, headers ? { headers } : {});
    expect(m.status).toBe(want === undefined ? 200 : 401);
    if (want !== undefined) expect(await m.text()).toBe("unauthenticated\n");
  });
  it("leaves probes open (HTTP probes and the gRPC health service)", async () => {
    expect((await fetch(`http://127.0.0.1:${httpAuth.port}/-/healthy`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${httpAuth.port}/-/ready`)).status).toBe(200);
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcAuth.port}` }));
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(await codeOf(createClient(Info, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcAuth.port}` })).info({}))).toBe(Code.Unauthenticated);
  });
});

describe("CORS", () => {
  it("answers preflights for allowed origins and exposes gRPC-Web headers", async () => {
    const pre = await fetch(`http://127.0.0.1:${http.port}/thanos.Store/Series`, {
      method: "OPTIONS",
      headers: { Origin: "http://allowed.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-grpc-web,connect-protocol-version" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://allowed.example");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    const allowHeaders = pre.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const h of ["content-type", "x-grpc-web", "connect-protocol-version", "grpc-timeout"]) expect(allowHeaders).toContain(h);

    const denied = await fetch(`http://127.0.0.1:${http.port}/thanos.Store/Series`, {
      method: "OPTIONS",
      headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" },
    });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();

    const call = await fetch(`http://127.0.0.1:${http.port}/thanos.info.Info/Info`, {
      method: "POST",
      headers: { Origin: "http://allowed.example", "Content-Type": "application/json", "Connect-Protocol-Version": "1" },
      body: "{}",
    });
    expect(call.status).toBe(200);
    expect(call.headers.get("access-control-allow-origin")).toBe("http://allowed.example");
    expect(call.headers.get("access-control-expose-headers")!.toLowerCase()).toContain("grpc-status");
    expect(await call.json()).toMatchObject({ ComponentType: "store" });
  });
});

describe("graceful close", () => {
  it("lets an in-flight gRPC Series stream finish after close() starts", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let sentFirst!: () => void;
    const firstSent = new Promise<void>((r) => { sentFirst = r; });
    const slow = createTestStore({
      series: [
        { labels: { job: "a" }, chunks: [{ minTime: 0, maxTime: 1, data: enc.encode("x") }] },
        { labels: { job: "b" }, chunks: [{ minTime: 0, maxTime: 1, data: enc.encode("y") }] },
      ],
      beforeFrame: async (i) => { if (i === 1) { sentFirst(); await gate; } },
    });
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: slow });
    const client = createClient(Store, createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }));
    const frames = collect(client, create(SeriesRequestSchema, { minTime: 0n, maxTime: 10n, matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: ".+" }] }));
    await firstSent;
    const closing = server.close(60_000);
    release();
    expect(seriesLabels(await frames)).toEqual(["job=a", "job=b"]);
    await closing;
  });
});

describe("client cancellation", () => {
  it.each(["grpc", "connect"] as const)("aborts the server-side handler signal when a %s client goes away", async (proto) => {
    let observedAbort!: () => void;
    const aborted = new Promise<void>((r) => { observedAbort = r; });
    let sentFirst!: () => void;
    const firstSent = new Promise<void>((r) => { sentFirst = r; });
    const hanging = createTestStore({
      series: [
        { labels: { job: "a" }, chunks: [{ minTime: 0, maxTime: 1, data: enc.encode("x") }] },
        { labels: { job: "b" }, chunks: [{ minTime: 0, maxTime: 1, data: enc.encode("y") }] },
      ],
      beforeFrame: (i, signal) => {
        if (i === 0) return;
        sentFirst();
        return new Promise<void>((resolve) => signal.addEventListener("abort", () => { observedAbort(); resolve(); }, { once: true }));
      },
    });
    const server = proto === "grpc"
      ? await startGrpcServer({ address: "127.0.0.1:0", storeApi: hanging })
      : await startHttpServer({ address: "127.0.0.1:0", fetch: createComponentApp({ storeApi: hanging, ready: () => true, metrics: createMetricsRegistry() }).fetch });
    try {
      const transport = proto === "grpc"
        ? createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` })
        : createConnectTransport({ baseUrl: `http://127.0.0.1:${server.port}`, httpVersion: "1.1" });
      const ac = new AbortController();
      const client = createClient(Store, transport);
      const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 10n, matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: ".+" }] });
      const got: string[] = [];
      const done = (async () => {
        for await (const f of client.series(req, { signal: ac.signal })) got.push(f.result.case ?? "");
      })().catch((e: unknown) => ConnectError.from(e).code);
      await firstSent;
      ac.abort();
      expect(await done).toBe(Code.Canceled);
      await aborted; // resolves only if the server saw the cancellation
      expect(got.length).toBeLessThanOrEqual(1);
    } finally {
      await server.close(1000);
    }
  });
});

describe("gRPC health", () => {
  it("reports NOT_SERVING until ready, SERVING after, NotFound for unknown services, and Watch sees the change", async () => {
    let up = false;
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store, ready: () => up });
    try {
      const health = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}` }));
      expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      expect(await codeOf(health.check({ service: "nope" }))).toBe(Code.NotFound);
      const ac = new AbortController();
      const seen: HealthCheckResponse_ServingStatus[] = [];
      for await (const r of health.watch({ service: "thanos.Store" }, { signal: ac.signal })) {
        seen.push(r.status);
        if (seen.length === 1) up = true;
        else break;
      }
      expect(seen).toEqual([HealthCheckResponse_ServingStatus.NOT_SERVING, HealthCheckResponse_ServingStatus.SERVING]);
      expect((await health.check({ service: "thanos.info.Info" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      // Also over gRPC-Web through the HTTP app.
      ready = true;
      const web = createClient(Health, createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${http.port}`, httpVersion: "1.1" }));
      expect((await web.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      await server.close(1000);
    }
  });
});
