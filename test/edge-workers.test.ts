/**
 * The querier as a Cloudflare Worker in Miniflare (workerd), bundled from
 * `src/runtime/workers/worker.ts` with esbuild and the WASM imported as a compiled module. Its R2
 * bucket holds real Prometheus blocks (promtool fixtures, Thanos labels region=eu replica=a); a
 * Meridian store gateway on Node serves the same blocks as replica b plus other blocks (region=us)
 * over Connect. A Node querier over two Node stores holding exactly the same data is the reference:
 * PromQL and metadata answers over the HTTP API must be equal. Also: bearer token (none / wrong /
 * right) over the HTTP API and Connect, refusal to start without a token, public mode.
 */
import { mkdtempSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Store } from "../src/gen/store/storepb/rpc_pb.ts";
import { LabelNamesRequestSchema } from "../src/gen/store/storepb/rpc_pb.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import type { Bucket } from "../src/objstore/bucket.ts";
import type { R2BucketLike } from "../src/objstore/r2-bucket.ts";
import { createEndpointSet } from "../src/query/endpoint-set.ts";
import { createQueryComponent } from "../src/query/query-component.ts";
import { createStoreClient } from "../src/query/store-client.ts";
import { loadWasm, wasmPath } from "../src/runtime/node/load-wasm.ts";
import { startHttpServer, type RunningServer } from "../src/runtime/node/serve.ts";
import { createComponentApp } from "../src/server/app.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { createBucketStore } from "../src/store/bucket-store.ts";
import { createTestStore } from "../src/server/test-store.ts";
import { encodeXorChunk } from "../src/tsdb/xor-encoder.ts";
import type { Hono } from "hono";
import { uploadFixtureGroup } from "./helpers/s3rver-store.ts";
import { startS3rver, type S3rverHandle } from "./helpers/s3rver.ts";
import { createS3Bucket } from "../src/objstore/s3-bucket.ts";

const TOKEN = "edge-secret-token";
const root = fileURLToPath(new URL("..", import.meta.url));

let dir: string;
let workerScript: string;
const servers: RunningServer[] = [];
let mf: Miniflare;
let workerUrl: string;
let reference: Hono;
let referenceEndpoints: ReturnType<typeof createEndpointSet>;
let sharedStoreUrl = "";

async function serveStore(bucket: Bucket): Promise<string> {
  const store = createBucketStore({ bucket, metrics: createMetricsRegistry() });
  await store.sync();
  const app = createComponentApp({ storeApi: store.storeApi, ready: store.ready, metrics: createMetricsRegistry() });
  const s = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch });
  servers.push(s);
  return `http://127.0.0.1:${s.port}`;
}

/** Bundles the Worker entry; the `.wasm` import stays an import of `./meridian.wasm` next to the bundle. */
async function bundleWorker(outDir: string): Promise<string> {
  const out = join(outDir, "worker.mjs");
  await build({
    entryPoints: [join(root, "src/runtime/workers/worker.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: out,
    logLevel: "silent",
    plugins: [{ name: "wasm-module", setup: (b) => b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./meridian.wasm", external: true })) }],
  });
  copyFileSync(wasmPath(), join(outDir, "meridian.wasm"));
  return out;
}

function miniflare(bindings: Record<string, unknown>, withR2: boolean): Miniflare {
  return new Miniflare({
    modules: true,
    scriptPath: workerScript,
    modulesRoot: dir,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-01-01",
    bindings,
    ...(withR2 ? { r2Buckets: ["BLOCKS"] } : {}),
    host: "127.0.0.1",
    port: 0,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-edge-workers-"));
  const wasm = await loadWasm();
  workerScript = await bundleWorker(dir);

  // Replica a of region eu: in R2 for the Worker, in a Node store for the reference querier.
  const eu = createMemoryBucket("eu-a");
  await uploadFixtureGroup(eu, "promtool-openmetrics-2.42", { region: "eu", replica: "a" });
  // The shared remote store: replica b of eu and region us.
  const shared = createMemoryBucket("shared");
  await uploadFixtureGroup(shared, "promtool-openmetrics-2.42", { region: "eu", replica: "b" });
  await uploadFixtureGroup(shared, "promtool-openmetrics-edgecases-2.42", { region: "us", replica: "a" });
  const sharedUrl = await serveStore(shared);
  const euUrl = await serveStore(eu);
  sharedStoreUrl = sharedUrl;

  mf = miniflare({ MERIDIAN_BEARER_TOKEN: TOKEN, MERIDIAN_ENDPOINTS: JSON.stringify([sharedUrl]), MERIDIAN_REPLICA_LABELS: "replica" }, true);
  workerUrl = (await mf.ready).href.replace(/\/$/, "");
  const r2 = (await mf.getR2Bucket("BLOCKS")) as unknown as R2BucketLike;
  await eu.iter("", async (key) => { await r2.put(key, await eu.get(key)); }, { recursive: true });

  referenceEndpoints = createEndpointSet({ staticEndpoints: [{ address: euUrl }, { address: sharedUrl }], clientFactory: (s) => createStoreClient(s.address) });
  await referenceEndpoints.probe();
  reference = createQueryComponent({ endpoints: referenceEndpoints, wasm, metrics: createMetricsRegistry(), replicaLabels: ["replica"] }).app;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  referenceEndpoints?.close();
  await Promise.all(servers.map((s) => s.close(1000)));
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };

async function both(path: string): Promise<{ worker: unknown; node: unknown }> {
  const w = await fetch(`${workerUrl}${path}`, { headers: auth });
  const n = await reference.fetch(new Request(`http://reference${path}`));
  expect(w.status, `${path}: ${w.status} ${await w.clone().text()}`).toBe(200);
  expect(n.status).toBe(200);
  return { worker: await w.json(), node: await n.json() };
}

describe("querier on Workers (Miniflare) over R2 blocks + a Connect endpoint", () => {
  const q = (expr: string, extra: string) => `/api/v1/query${extra}${extra ? "&" : "?"}query=${encodeURIComponent(expr)}`;
  const cases: [string, string][] = [
    ["demo_gauge", "?time=1700003000"],
    ["edges", "?time=1700008800"],
    ['count by (region, replica) ({__name__=~".+"})', "?time=1700005000"],
    ["sum by (region) (rate(demo_requests_total[5m]))", "?time=1700010000"],
  ];
  for (const [expr, params] of cases) {
    it(`instant query ${expr} equals the Node querier's`, async () => {
      const { worker, node } = await both(q(expr, params));
      expect((worker as { data: { result: unknown[] } }).data.result.length).toBeGreaterThan(0);
      expect(worker).toEqual(node);
    });
  }

  const ranges: string[] = [
    "rate(demo_requests_total[5m])",
    "max_over_time(demo_gauge[10m])",
    "demo_irregular",
    "edges * 2",
  ];
  for (const expr of ranges) {
    it(`range query ${expr} equals the Node querier's`, async () => {
      const { worker, node } = await both(`/api/v1/query_range?query=${encodeURIComponent(expr)}&start=1699999000&end=1700020000&step=60`);
      expect((worker as { data: { result: unknown[] } }).data.result.length).toBeGreaterThan(0);
      expect(worker).toEqual(node);
    });
  }

  it("deduplicates the R2 replica with the remote replica (one series per instance, no replica label)", async () => {
    const { worker } = await both(q("demo_gauge", "?time=1700003000"));
    const result = (worker as { data: { result: { metric: Record<string, string> }[] } }).data.result;
    expect(result.every((s) => s.metric.replica === undefined && s.metric.region === "eu")).toBe(true);
    expect(new Set(result.map((s) => JSON.stringify(s.metric))).size).toBe(result.length);
  });

  it("reads replica a from R2 (dedup=false shows both replicas of eu, equal to the Node querier)", async () => {
    const { worker, node } = await both(q("count by (region, replica) (demo_gauge)", "?time=1700003000&dedup=false"));
    const result = (worker as { data: { result: { metric: Record<string, string> }[] } }).data.result;
    expect(result.map((s) => s.metric)).toEqual([{ region: "eu", replica: "a" }, { region: "eu", replica: "b" }]);
    expect(worker).toEqual(node);
  });

  it("answers metadata (labels, label values, series) as the Node querier does", async () => {
    for (const path of ["/api/v1/labels", "/api/v1/label/region/values", `/api/v1/series?match[]=demo_gauge&start=1699999000&end=1700020000`]) {
      const { worker, node } = await both(path);
      expect(worker).toEqual(node);
    }
  });

  it("lists the R2 store and the Connect endpoint as healthy on /api/v1/stores", async () => {
    const res = await fetch(`${workerUrl}/api/v1/stores`, { headers: auth });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain("r2://BLOCKS");
    expect(text).toContain(servers[0] ? `127.0.0.1:${servers[0].port}` : "");
    expect(text).not.toContain("unhealthy");
  });

  it("serves its StoreAPI over Connect with the token, and rejects calls without or with a wrong one", async () => {
    const client = (token?: string) =>
      createClient(Store, createConnectTransport({ baseUrl: workerUrl, useBinaryFormat: true, ...(token ? { interceptors: [(next) => (req) => { req.header.set("authorization", `Bearer ${token}`); return next(req); }] } : {}) }));
    const req = create(LabelNamesRequestSchema, { start: 1699999000000n, end: 1700020000000n });
    const ok = await client(TOKEN).labelNames(req);
    expect(ok.names).toContain("region");
    for (const token of [undefined, "wrong"]) {
      const err = await client(token).labelNames(req).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.Unauthenticated);
      expect(err?.rawMessage).toBe("unauthenticated");
    }
  });

  it("answers concurrent queries (one isolate, shared limiter and caches) as the Node querier does", async () => {
    const paths = [...cases.map(([e, p]) => q(e, p)), ...ranges.map((e) => `/api/v1/query_range?query=${encodeURIComponent(e)}&start=1699999000&end=1700020000&step=60`)];
    const got = await Promise.all(paths.map(async (p) => (await fetch(`${workerUrl}${p}`, { headers: auth })).json()));
    for (let i = 0; i < paths.length; i++) expect(got[i], paths[i]).toEqual(await (await reference.fetch(new Request(`http://reference${paths[i]}`))).json());
  });

  it("is itself an endpoint: a Node querier using the Worker over Connect (with its token) gives the same answers", async () => {
    const global = createEndpointSet({ staticEndpoints: [{ address: workerUrl, bearerToken: TOKEN }], clientFactory: (s) => createStoreClient(s.address, { bearerToken: s.bearerToken! }) });
    try {
      await global.probe();
      expect(global.statuses()[0]!.health).toBe("healthy");
      expect(global.statuses()[0]!.componentType).toBe("query");
      const app = createQueryComponent({ endpoints: global, wasm: await loadWasm(), metrics: createMetricsRegistry(), replicaLabels: ["replica"] }).app;
      for (const path of [q("sum by (region) (rate(demo_requests_total[5m]))", "?time=1700010000"), `/api/v1/query_range?query=${encodeURIComponent("edges * 2")}&start=1699999000&end=1700020000&step=60`]) {
        const viaWorker = await (await app.fetch(new Request(`http://global${path}`))).json();
        expect(viaWorker).toEqual(await (await reference.fetch(new Request(`http://reference${path}`))).json());
      }
    } finally {
      global.close();
    }
  });

  it("exposes the connection limiter on /metrics (behind the token)", async () => {
    const res = await fetch(`${workerUrl}/metrics`, { headers: auth });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toMatch(/^meridian_outbound_connections_in_flight \d+$/m);
    expect(text).toMatch(/^meridian_outbound_connections_waiting 0$/m);
    expect(text).toMatch(/^meridian_outbound_spill_bytes 0$/m);
    expect((await fetch(`${workerUrl}/metrics`)).status).toBe(401);
  });

  it("serves the bundled web UI (public page and assets; its API calls need the token)", async () => {
    const page = await fetch(`${workerUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    const script = /src="\/?static\/([^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${workerUrl}/static/${script}`);
    expect(js.status).toBe(200);
    expect((await js.text()).length).toBeGreaterThan(10_000);
  });

  it("rejects HTTP API calls without the token or with a wrong one (401, nothing revealed)", async () => {
    const variants: Record<string, string>[] = [{}, { authorization: "Bearer wrong" }, { authorization: TOKEN }];
    for (const headers of variants) {
      const res = await fetch(`${workerUrl}/api/v1/query?query=demo_gauge&time=1700003000`, { headers });
      expect(res.status).toBe(401);
      expect(await res.text()).toBe("unauthenticated\n");
    }
  });
});

describe("querier on Workers over S3 (MERIDIAN_OBJSTORE_CONFIG, SigV4 over fetch)", () => {
  let s3: S3rverHandle;
  let w: Miniflare;
  beforeAll(async () => {
    s3 = await startS3rver(["blocks"]);
    // Written by the aws-sdk bucket (what the Node shipper uses), under a Thanos prefix.
    await uploadFixtureGroup(createS3Bucket({ ...s3.config("blocks"), prefix: "tenant-a" }), "promtool-openmetrics-2.42", { region: "eu", replica: "a" });
    w = miniflare({
      MERIDIAN_PUBLIC: "true", MERIDIAN_OBJSTORE_CONFIG: `${s3.yaml("blocks")}prefix: tenant-a\n`,
      MERIDIAN_ENDPOINTS: JSON.stringify([sharedStoreUrl]), MERIDIAN_REPLICA_LABELS: "replica",
    }, false);
  }, 60_000);
  afterAll(async () => {
    await w?.dispose();
    await s3?.stop();
  });

  it("reads the blocks from S3 and answers as the Node querier does", async () => {
    const stores = await (await w.dispatchFetch("http://worker/api/v1/stores", { headers: { "accept-encoding": "identity" } })).text();
    expect(stores).toContain("s3://blocks/tenant-a");
    expect(stores).not.toContain("unhealthy");
    for (const path of [
      `/api/v1/query?query=${encodeURIComponent("count by (region, replica) (demo_gauge)")}&time=1700003000&dedup=false`,
      `/api/v1/query_range?query=${encodeURIComponent("rate(demo_requests_total[5m])")}&start=1699999000&end=1700020000&step=60`,
      "/api/v1/label/replica/values",
    ]) {
      const got = await (await w.dispatchFetch(`http://worker${path}`)).json();
      expect(got).toEqual(await (await reference.fetch(new Request(`http://reference${path}`))).json());
    }
  });
});

describe("Worker start-up rules", () => {
  it("refuses to serve (500, clear message) without a token unless MERIDIAN_PUBLIC=true", async () => {
    const url = servers[0] ? `http://127.0.0.1:${servers[0].port}` : "";
    const locked = miniflare({ MERIDIAN_ENDPOINTS: JSON.stringify([url]) }, false);
    try {
      const res = await locked.dispatchFetch("http://worker/-/ready");
      expect(res.status).toBe(500);
      expect(await res.text()).toContain("refusing to serve: no MERIDIAN_BEARER_TOKEN secret is set");
    } finally {
      await locked.dispose();
    }
    const open = miniflare({ MERIDIAN_ENDPOINTS: JSON.stringify([url]), MERIDIAN_PUBLIC: "true" }, false);
    try {
      const res = await open.dispatchFetch("http://worker/api/v1/query?query=count(demo_gauge)&time=1700003000");
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      expect(Number(body.data.result[0]!.value[1])).toBeGreaterThan(0);
    } finally {
      await open.dispose();
    }
  });

  it("refuses a native gRPC endpoint address with a message naming the binding", async () => {
    const bad = miniflare({ MERIDIAN_PUBLIC: "true", MERIDIAN_ENDPOINTS: '["127.0.0.1:10901"]' }, false);
    try {
      const res = await bad.dispatchFetch("http://worker/api/v1/labels");
      expect(res.status).toBe(500);
      expect(await res.text()).toMatch(/MERIDIAN_ENDPOINTS: "127\.0\.0\.1:10901" is a native gRPC address/);
    } finally {
      await bad.dispose();
    }
  });
});

describe("Worker fan-out beyond the 6-connection limit", () => {
  it("queries 8 Connect endpoints streaming more series than the fan-out reads ahead, equal to the Node querier", { timeout: 120_000 }, async () => {
    const ts = Array.from({ length: 120 }, (_, i) => 1_700_000_000_000 + i * 15_000);
    const urls: string[] = [];
    for (let k = 0; k < 8; k++) {
      // 1000 series (~300 KB) per store: far more than the fan-out's 256-frame read-ahead, so a store
      // holding a connection stalls until the merge moves on, which needs the heads of all 8 streams.
      const storeApi = createTestStore({
        externalLabels: { store: `s${k}` },
        series: Array.from({ length: 1000 }, (_, i) => ({
          labels: { __name__: "fanout_metric", series: String(i).padStart(4, "0") },
          chunks: [{ minTime: ts[0]!, maxTime: ts[119]!, data: encodeXorChunk(ts, ts.map((_, j) => k * 1000 + i + j * 0.25)) }],
        })),
      });
      const app = createComponentApp({ storeApi, ready: () => true, metrics: createMetricsRegistry() });
      const s = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch });
      servers.push(s);
      urls.push(`http://127.0.0.1:${s.port}`);
    }
    const fan = miniflare({ MERIDIAN_PUBLIC: "true", MERIDIAN_ENDPOINTS: JSON.stringify(urls) }, false);
    const set = createEndpointSet({ staticEndpoints: urls.map((address) => ({ address })), clientFactory: (s) => createStoreClient(s.address) });
    try {
      await set.probe();
      const ref = createQueryComponent({ endpoints: set, wasm: await loadWasm(), metrics: createMetricsRegistry() }).app;
      for (const expr of ["count(fanout_metric)", "sum by (store) (max_over_time(fanout_metric[1m]))"]) {
        const path = `/api/v1/query?query=${encodeURIComponent(expr)}&time=1700001000`;
        const w = await fan.dispatchFetch(`http://worker${path}`);
        expect(w.status, await w.clone().text()).toBe(200);
        const got = (await w.json()) as { data: { result: unknown[] }; warnings?: string[] };
        expect(got.warnings).toBeUndefined();
        const want = await (await ref.fetch(new Request(`http://reference${path}`))).json();
        expect(got).toEqual(want);
      }
      const count = (await (await fan.dispatchFetch(`http://worker/api/v1/query?query=count(fanout_metric)&time=1700001000`)).json()) as { data: { result: { value: [number, string] }[] } };
      expect(count.data.result[0]!.value[1]).toBe("8000");
    } finally {
      set.close();
      await fan.dispose();
    }
    // The limiter really was in play: with room for the small Info answers but not for the Series
    // streams, streams holding connections fail with the limiter's message (partial response)
    // instead of hanging, and the waiting stores are still queried.
    const tight = miniflare({ MERIDIAN_PUBLIC: "true", MERIDIAN_ENDPOINTS: JSON.stringify(urls), MERIDIAN_SPILL_BYTES: "4KB" }, false);
    try {
      const res = await tight.dispatchFetch(`http://worker/api/v1/query?query=count(fanout_metric)&time=1700001000`);
      const stores = await (await tight.dispatchFetch("http://worker/api/v1/stores", { headers: { "accept-encoding": "identity" } })).text();
      expect(stores).not.toContain("unhealthy");
      const body = (await res.json()) as { warnings?: string[] };
      expect(res.status).toBe(200);
      expect(body.warnings?.join("\n")).toMatch(/outbound connection limit \(6\) reached/);
    } finally {
      await tight.dispose();
    }
  });
});
