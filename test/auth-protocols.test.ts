/**
 * Bearer-token authentication over every protocol a Meridian component speaks, on real Node
 * listeners: the querier's Prometheus HTTP API, and the StoreAPI over Connect, gRPC-Web and native
 * gRPC (h2c), each with no token, a wrong token, a token in the wrong scheme and the right token.
 * Rejections are 401 / `Unauthenticated` with the bare message "unauthenticated"; probes stay open;
 * a querier reaching its endpoint with the wrong token reports it unhealthy.
 */
import { Code, ConnectError, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Info } from "../src/gen/info/infopb/rpc_pb.ts";
import { Store } from "../src/gen/store/storepb/rpc_pb.ts";
import { createEndpointSet } from "../src/query/endpoint-set.ts";
import { createQueryComponent } from "../src/query/query-component.ts";
import { createStoreClient } from "../src/query/store-client.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "../src/runtime/node/serve.ts";
import { createComponentApp } from "../src/server/app.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { createTestStore } from "../src/server/test-store.ts";
import { encodeXorChunk } from "../src/tsdb/xor-encoder.ts";

const STORE_TOKEN = "store-token-1234";
const QUERY_TOKEN = "query-token-5678";
const servers: RunningServer[] = [];
const closers: (() => void)[] = [];
let storeHttp = "";
let storeGrpc = "";
let queryHttp = "";
let queryGrpc = "";

const T0 = 1_700_000_000_000;
const ts = Array.from({ length: 60 }, (_, i) => T0 + i * 15_000);

beforeAll(async () => {
  const wasm = await loadWasm();
  const storeApi = createTestStore({
    externalLabels: { region: "eu" },
    series: ["a", "b"].map((instance, k) => ({
      labels: { __name__: "up", instance },
      chunks: [{ minTime: ts[0]!, maxTime: ts[ts.length - 1]!, data: encodeXorChunk(ts, ts.map((_, i) => i * (k + 1))) }],
    })),
  });
  const storeApp = createComponentApp({ storeApi, ready: () => true, metrics: createMetricsRegistry(), bearerToken: STORE_TOKEN });
  const sh = await startHttpServer({ address: "127.0.0.1:0", fetch: storeApp.fetch });
  const sg = await startGrpcServer({ address: "127.0.0.1:0", storeApi, bearerToken: STORE_TOKEN });
  servers.push(sh, sg);
  storeHttp = `http://127.0.0.1:${sh.port}`;
  storeGrpc = `http://127.0.0.1:${sg.port}`;

  // The querier reaches the store with the right token, and a second address with a wrong one.
  const endpoints = createEndpointSet({
    staticEndpoints: [{ address: storeHttp, bearerToken: STORE_TOKEN }, { address: `${storeHttp}/`, bearerToken: "stale-token" }],
    clientFactory: (s) => createStoreClient(s.address, { ...(s.bearerToken ? { bearerToken: s.bearerToken } : {}) }),
  });
  await endpoints.probe();
  closers.push(() => endpoints.close());
  const q = createQueryComponent({ endpoints, wasm, metrics: createMetricsRegistry(), bearerToken: QUERY_TOKEN });
  const qh = await startHttpServer({ address: "127.0.0.1:0", fetch: q.app.fetch });
  const qg = await startGrpcServer({ address: "127.0.0.1:0", storeApi: q.storeApi, ready: q.ready, bearerToken: QUERY_TOKEN });
  servers.push(qh, qg);
  queryHttp = `http://127.0.0.1:${qh.port}`;
  queryGrpc = `http://127.0.0.1:${qg.port}`;
});

afterAll(async () => {
  for (const c of closers) c();
  await Promise.all(servers.map((s) => s.close(1000)));
});

const withAuth = (value: string | undefined): Interceptor[] =>
  value === undefined ? [] : [(next) => (req) => { req.header.set("authorization", value); return next(req); }];

type Proto = "connect" | "grpc-web" | "grpc";
function transport(proto: Proto, baseUrl: string, auth: string | undefined): Transport {
  const interceptors = withAuth(auth);
  if (proto === "connect") return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
  if (proto === "grpc-web") return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
  return createGrpcTransport({ baseUrl, interceptors });
}

const wrong = (token: string) => [
  ["no token", undefined],
  ["a wrong token", "Bearer not-the-token"],
  ["the right token in the Basic scheme", `Basic ${token}`],
  ["a prefix of the token", `Bearer ${token.slice(0, -1)}`],
] as const;

describe.each([
  ["store", () => ({ http: storeHttp, grpc: storeGrpc }), STORE_TOKEN],
  ["querier", () => ({ http: queryHttp, grpc: queryGrpc }), QUERY_TOKEN],
] as const)("StoreAPI of the %s", (_name, addr, token) => {
  for (const proto of ["connect", "grpc-web", "grpc"] as const) {
    const base = () => (proto === "grpc" ? addr().grpc : addr().http);
    it(`${proto}: Series, LabelNames and Info work with the right token`, async () => {
      const t = transport(proto, base(), `Bearer ${token}`);
      const names = await createClient(Store, t).labelNames({});
      expect(names.names).toEqual(["__name__", "instance", "region"]);
      let n = 0;
      for await (const f of createClient(Store, t).series({ matchers: [{ type: 0, name: "__name__", value: "up" }], minTime: BigInt(T0), maxTime: BigInt(ts[59]!) })) {
        if (f.result.case === "series") n++;
      }
      expect(n).toBe(2);
      expect((await createClient(Info, t).info({})).labelSets.length).toBe(1);
    });
    for (const [what, auth] of wrong(token)) {
      it(`${proto}: Series, LabelNames and Info are Unauthenticated with ${what}`, async () => {
        const t = transport(proto, base(), auth);
        const calls: (() => Promise<unknown>)[] = [
          () => createClient(Store, t).labelNames({}),
          () => createClient(Info, t).info({}),
          async () => {
            for await (const _ of createClient(Store, t).series({ matchers: [{ type: 0, name: "__name__", value: "up" }], minTime: 0n, maxTime: BigInt(T0 * 2) })) void _;
          },
        ];
        for (const call of calls) {
          const err = await call().then(() => undefined, (e: unknown) => ConnectError.from(e));
          expect(err?.code).toBe(Code.Unauthenticated);
          expect(err?.rawMessage).toBe("unauthenticated");
        }
      });
    }
  }
});

describe("querier HTTP API", () => {
  const paths = ["/api/v1/query?query=sum(up)&time=1700000300", "/api/v1/labels", "/api/v1/stores", "/metrics"];
  it("answers with the right token", async () => {
    for (const p of paths) {
      const res = await fetch(`${queryHttp}${p}`, { headers: { authorization: `Bearer ${QUERY_TOKEN}` } });
      expect(res.status, p).toBe(200);
    }
    const res = await fetch(`${queryHttp}/api/v1/query?query=sum(up)&time=1700000300`, { headers: { authorization: `bearer ${QUERY_TOKEN}` } });
    const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
    expect(body.data.result[0]!.value[1]).toBe(String(20 + 40));
  });
  for (const [what, auth] of wrong(QUERY_TOKEN)) {
    it(`answers 401 "unauthenticated" with ${what}, revealing nothing else`, async () => {
      for (const p of paths) {
        const res = await fetch(`${queryHttp}${p}`, { headers: auth ? { authorization: auth } : {} });
        expect(res.status, p).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe("Bearer");
        expect(await res.text()).toBe("unauthenticated\n");
      }
    });
  }
  it("keeps /-/healthy and /-/ready open for probes", async () => {
    for (const p of ["/-/healthy", "/-/ready"]) expect((await fetch(`${queryHttp}${p}`)).status).toBe(200);
  });
  it("reports an endpoint reached with the wrong token as unhealthy (Unauthenticated) and queries the other", async () => {
    const res = await fetch(`${queryHttp}/api/v1/stores`, { headers: { authorization: `Bearer ${QUERY_TOKEN}` } });
    const text = await res.text();
    expect(text).toContain('"health":"unhealthy"');
    expect(text).toContain("Unauthenticated: unauthenticated");
    expect(text).toContain('"health":"healthy"');
  });
});
