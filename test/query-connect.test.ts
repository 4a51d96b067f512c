/**
 * Endpoints given as http:// URLs are dialed with Connect (what edge runtimes and browsers speak),
 * `host:port` with native gRPC. The same two store gateways reached either way must give the
 * querier byte-identical API answers, and a querier's own Connect endpoint can serve another
 * querier (the regional → global hop over plain HTTP).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { createBucketStore } from "../src/store/bucket-store.ts";
import { writeBlock } from "../src/tsdb/block-writer.ts";
import { createComponentApp } from "../src/server/app.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "../src/runtime/node/serve.ts";
import { COMPAT_HOURS, COMPAT_T0, makeCompatSeries, withoutWindow } from "./helpers/query-compat-data.ts";
import { memoryBucketWith, startTestQuerier, type TestQuerier } from "./helpers/query-stack.ts";

const END = COMPAT_T0 + COMPAT_HOURS * 3600_000;
const enc = encodeURIComponent;
const servers: RunningServer[] = [];
const grpcAddresses: string[] = [];
const connectUrls: string[] = [];
let viaGrpc: TestQuerier;
let viaConnect: TestQuerier;
let globalViaConnect: TestQuerier;

beforeAll(async () => {
  const wasm = await loadWasm();
  for (const replica of ["a", "b"]) {
    let data = makeCompatSeries();
    if (replica === "b") data = withoutWindow(data, COMPAT_T0 + 3600_000, COMPAT_T0 + 5400_000);
    const bucket = await memoryBucketWith(`connect-${replica}`, [writeBlock(data, { thanos: { labels: { cluster: "eu", replica }, source: "sidecar" } })]);
    const store = createBucketStore({ bucket, metrics: createMetricsRegistry(), wasm });
    await store.sync();
    // One store process, both listeners: native gRPC and the HTTP app with Connect.
    const grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store.storeApi, ready: store.ready });
    const app = createComponentApp({ storeApi: store.storeApi, ready: store.ready, metrics: createMetricsRegistry() });
    const http = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch });
    servers.push(grpc, http);
    grpcAddresses.push(`127.0.0.1:${grpc.port}`);
    connectUrls.push(`http://127.0.0.1:${http.port}`);
  }
  viaGrpc = await startTestQuerier(grpcAddresses, { replicaLabels: ["replica"] });
  viaConnect = await startTestQuerier(connectUrls, { replicaLabels: ["replica"] });
  // A global querier reaching the Connect-dialed querier through that querier's own HTTP listener.
  globalViaConnect = await startTestQuerier([viaConnect.url], { replicaLabels: ["replica"] });
});

afterAll(async () => {
  await Promise.all([viaGrpc?.close(), viaConnect?.close(), globalViaConnect?.close()]);
  await Promise.all(servers.map((s) => s.close(500)));
});

const paths = [
  `/api/v1/query_range?query=${enc("sum by (job) (rate(http_requests_total[5m]))")}&start=${(COMPAT_T0 + 600_000) / 1000}&end=${END / 1000}&step=60`,
  `/api/v1/query_range?query=${enc("node_load1")}&start=${COMPAT_T0 / 1000}&end=${END / 1000}&step=15`,
  `/api/v1/query_range?query=${enc("node_load1")}&start=${COMPAT_T0 / 1000}&end=${END / 1000}&step=60&dedup=false`,
  `/api/v1/query?query=${enc("compat_special")}&time=${(COMPAT_T0 + 25 * 60_000) / 1000}`,
  `/api/v1/query?query=${enc("histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))")}&time=${(END - 60_000) / 1000}`,
  `/api/v1/series?match[]=${enc('{__name__=~"node_load1|compat_.*"}')}`,
  `/api/v1/labels`,
  `/api/v1/label/replica/values?dedup=false`,
];

describe("Connect endpoints (http:// URLs)", () => {
  it("are probed as healthy Connect endpoints", async () => {
    const stores = JSON.parse((await viaConnect.request("/api/v1/stores")).text) as { data: Record<string, { name: string; protocol: string; health: string }[]> };
    const all = Object.values(stores.data).flat();
    expect(all.map((s) => s.name).sort()).toEqual([...connectUrls].sort());
    for (const s of all) {
      expect(s.protocol).toBe("connect");
      expect(s.health).toBe("healthy");
    }
  });

  it("give byte-identical answers to native gRPC endpoints", async () => {
    for (const path of paths) {
      const [g, c] = await Promise.all([viaGrpc.request(path), viaConnect.request(path)]);
      expect(g.status, g.text).toBe(200);
      expect(c.text, path).toBe(g.text);
    }
  });

  it("carry a querier-of-queriers hop over Connect with the same answers", async () => {
    for (const path of paths) {
      const [g, c] = await Promise.all([viaGrpc.request(path), globalViaConnect.request(path)]);
      expect(c.text, path).toBe(g.text);
    }
  });
});
