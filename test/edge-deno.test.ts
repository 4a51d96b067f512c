/**
 * The querier and the store gateway on Deno, started as `deno task store` / `deno task query` with
 * node_modules/.bin/deno: a Deno store serves real promtool blocks from a filesystem bucket
 * (region=eu replica=a), a Node store serves replica b plus region us, and the Deno querier fans out
 * to both over Connect with replica dedup. Its PromQL and metadata answers must equal a Node
 * querier's over the same data; its token check must hold over the HTTP API and Connect.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import type { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabelValuesRequestSchema, Store } from "../src/gen/store/storepb/rpc_pb.ts";
import type { Bucket } from "../src/objstore/bucket.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import { createEndpointSet } from "../src/query/endpoint-set.ts";
import { createQueryComponent } from "../src/query/query-component.ts";
import { createStoreClient } from "../src/query/store-client.ts";
import { createFilesystemBucket } from "../src/runtime/node/filesystem-bucket.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { startHttpServer, type RunningServer } from "../src/runtime/node/serve.ts";
import { createComponentApp } from "../src/server/app.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { createBucketStore } from "../src/store/bucket-store.ts";
import { uploadFixtureGroup } from "./helpers/s3rver-store.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const TOKEN = "deno-query-token";
let dir: string;
const servers: RunningServer[] = [];
const children: ChildProcess[] = [];
let denoStoreUrl = "";
let sharedStoreUrl = "";
let denoQueryUrl = "";
let reference: Hono;
let referenceEndpoints: ReturnType<typeof createEndpointSet>;

async function serveStore(bucket: Bucket): Promise<string> {
  const store = createBucketStore({ bucket, metrics: createMetricsRegistry() });
  await store.sync();
  const app = createComponentApp({ storeApi: store.storeApi, ready: store.ready, metrics: createMetricsRegistry() });
  const s = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch });
  servers.push(s);
  return `http://127.0.0.1:${s.port}`;
}

/** Runs `deno task <name> ...` on port 0 and resolves with its URL once it logged the bound port. */
function denoTask(name: string, args: string[]): Promise<string> {
  const child = spawn(join(root, "node_modules/.bin/deno"), ["task", "-q", name, "--http-address=127.0.0.1:0", ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1", DENO_DIR: join(dir, "deno-dir") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  let stderr = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString();
      const m = /listening: http 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.once("exit", (code) => reject(new Error(`deno task ${name} exited with ${code}:\n${stderr}`)));
  });
}

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-edge-deno-"));
  const wasm = await loadWasm();
  const blocksDir = join(dir, "bucket");
  const eu = createFilesystemBucket(blocksDir);
  await uploadFixtureGroup(eu, "promtool-openmetrics-2.42", { region: "eu", replica: "a" });
  const shared = createMemoryBucket("shared");
  await uploadFixtureGroup(shared, "promtool-openmetrics-2.42", { region: "eu", replica: "b" });
  await uploadFixtureGroup(shared, "promtool-openmetrics-edgecases-2.42", { region: "us", replica: "a" });
  const sharedUrl = await serveStore(shared);
  sharedStoreUrl = sharedUrl;
  const euNodeUrl = await serveStore(eu);

  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  denoStoreUrl = await denoTask("store", [`--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${blocksDir}`, `--data-dir=${join(dir, "data")}`]);
  await until("Deno store ready", async () => (await fetch(`${denoStoreUrl}/-/ready`)).ok);
  denoQueryUrl = await denoTask("query", [`--endpoint=${denoStoreUrl}`, `--endpoint=${sharedUrl}`, "--query.replica-label=replica", `--http.bearer-token-file=${tokenFile}`]);
  await until("Deno querier ready with healthy endpoints", async () => {
    const res = await fetch(`${denoQueryUrl}/api/v1/stores`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await res.text();
    return res.ok && (text.match(/"health":"healthy"/g) ?? []).length === 2;
  });

  referenceEndpoints = createEndpointSet({ staticEndpoints: [{ address: euNodeUrl }, { address: sharedUrl }], clientFactory: (s) => createStoreClient(s.address) });
  await referenceEndpoints.probe();
  reference = createQueryComponent({ endpoints: referenceEndpoints, wasm, metrics: createMetricsRegistry(), replicaLabels: ["replica"] }).app;
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      await exited;
    }
  }
  referenceEndpoints?.close();
  await Promise.all(servers.map((s) => s.close(1000)));
  rmSync(dir, { recursive: true, force: true });
});

async function both(path: string): Promise<{ deno: unknown; node: unknown }> {
  const d = await fetch(`${denoQueryUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const n = await reference.fetch(new Request(`http://reference${path}`));
  expect(d.status, await d.clone().text()).toBe(200);
  expect(n.status).toBe(200);
  return { deno: await d.json(), node: await n.json() };
}

describe("meridian query and store on Deno", () => {
  const paths = [
    `/api/v1/query?query=${encodeURIComponent("demo_gauge")}&time=1700003000`,
    `/api/v1/query?query=${encodeURIComponent("count by (region, replica) (demo_gauge)")}&time=1700003000&dedup=false`,
    `/api/v1/query?query=${encodeURIComponent("sum by (region) (rate(demo_requests_total[5m]))")}&time=1700010000`,
    `/api/v1/query_range?query=${encodeURIComponent("rate(demo_requests_total[5m])")}&start=1699999000&end=1700020000&step=60`,
    `/api/v1/query_range?query=${encodeURIComponent("edges * 2")}&start=1699999000&end=1700020000&step=30`,
    "/api/v1/labels",
    "/api/v1/label/region/values",
    `/api/v1/series?match[]=demo_gauge&start=1699999000&end=1700020000`,
  ];
  for (const path of paths) {
    it(`answers ${decodeURIComponent(path)} as the Node querier does`, async () => {
      const { deno, node } = await both(path);
      const data = (deno as { data: unknown }).data;
      expect(Array.isArray(data) ? data.length : (data as { result: unknown[] }).result.length).toBeGreaterThan(0);
      expect(deno).toEqual(node);
    });
  }

  it("reads replica a from the Deno store (dedup=false shows both replicas)", async () => {
    const { deno } = await both(`/api/v1/query?query=${encodeURIComponent("count by (replica) (demo_gauge)")}&time=1700003000&dedup=false`);
    expect((deno as { data: { result: { metric: Record<string, string> }[] } }).data.result.map((r) => r.metric.replica)).toEqual(["a", "b"]);
  });

  it("serves the bundled web UI page without a token", async () => {
    const res = await fetch(`${denoQueryUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("static/app.js");
  });

  it("rejects HTTP API calls without the token or with a wrong one", async () => {
    const variants: Record<string, string>[] = [{}, { authorization: "Bearer nope" }];
    for (const headers of variants) {
      const res = await fetch(`${denoQueryUrl}/api/v1/labels`, { headers });
      expect(res.status).toBe(401);
      expect(await res.text()).toBe("unauthenticated\n");
    }
  });

  it("serves the StoreAPI over Connect with the token and rejects it without", async () => {
    const client = (token?: string) =>
      createClient(Store, createConnectTransport({ baseUrl: denoQueryUrl, ...(token ? { interceptors: [(next) => (req) => { req.header.set("authorization", `Bearer ${token}`); return next(req); }] } : {}) }));
    const req = create(LabelValuesRequestSchema, { label: "region", start: 1699999000000n, end: 1700020000000n });
    expect((await client(TOKEN).labelValues(req)).values).toEqual(["eu", "us"]);
    for (const token of [undefined, "nope"]) {
      const err = await client(token).labelValues(req).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(err?.code).toBe(Code.Unauthenticated);
    }
  });

  it("reloads --endpoint.sd-config-file on Deno (endpoints added by editing the file)", async () => {
    const sd = join(dir, "endpoints.yaml");
    writeFileSync(sd, `endpoints:\n  - address: ${denoStoreUrl}\n`);
    const url = await denoTask("query", [`--endpoint.sd-config-file=${sd}`]);
    const healthy = async () => ((await (await fetch(`${url}/api/v1/stores`)).text()).match(/"health":"healthy"/g) ?? []).length;
    await until("one endpoint from the SD file", async () => (await healthy()) === 1);
    writeFileSync(sd, `endpoints:\n  - address: ${denoStoreUrl}\n  - address: ${sharedStoreUrl}\n`);
    await until("the added endpoint", async () => (await healthy()) === 2);
    const res = await fetch(`${url}/api/v1/label/region/values`);
    expect(((await res.json()) as { data: string[] }).data).toEqual(["eu", "us"]);
  });

  it("refuses a native gRPC endpoint on Deno with a clear message", async () => {
    const child = spawn(join(root, "node_modules/.bin/deno"), ["task", "-q", "query", "--http-address=127.0.0.1:0", "--endpoint=127.0.0.1:10901"], {
      cwd: root, env: { ...process.env, NO_COLOR: "1", DENO_DIR: join(dir, "deno-dir") }, stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    expect(code).toBe(2);
    expect(stderr).toContain("127.0.0.1:10901");
    expect(stderr).toContain("is native gRPC; on Deno use the endpoint's http(s):// Connect URL");
  });
});
