/**
 * The example page `examples/browser-storeapi/` (bundled here with esbuild) in headless Chromium,
 * served from one origin and calling real `meridian store` and `meridian query` processes (the
 * built CLI) on other ports, allowed by `--web.cors-origin`. The page's series, label names and
 * label values must equal what a Node client gets from the same StoreAPI; the querier's token is
 * enforced in the browser too; a page from an origin that is not allowed is blocked by the browser.
 * Screenshots go to test/artifacts/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, SeriesRequestSchema, Store } from "../../src/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../../src/gen/store/storepb/types_pb.ts";
import { createFilesystemBucket } from "../../src/runtime/node/filesystem-bucket.ts";
import { wasmPath } from "../../src/runtime/node/load-wasm.ts";
import { uploadFixtureGroup } from "../helpers/s3rver-store.ts";
import { findBinary } from "./helpers/promtool.ts";

const root = process.cwd();
const CLI = join(root, "dist/src/runtime/node/cli.js");
const ARTIFACTS = join(root, "test/artifacts");
const TOKEN = "browser-query-token";
const chromiumPath = findBinary("chromium");
if (!chromiumPath) console.warn("SKIPPED browser StoreAPI example tests: install Debian's `chromium` package to run them");

let dir: string;
let browser: Browser;
const pages: http.Server[] = [];
const children: ChildProcess[] = [];
let allowedOrigin = "";
let otherOrigin = "";
let store: { http: number; grpc: number };
let query: { http: number; grpc: number };
let worker: Miniflare | undefined;
let workerPort = 0;

function startCli(args: string[]): Promise<{ http: number; grpc: number }> {
  const child = spawn(process.execPath, [CLI, ...args, "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0"], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let stderr = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString();
      const m = /listening: http port (\d+), grpc port (\d+)/.exec(stderr);
      if (m) resolve({ http: Number(m[1]), grpc: Number(m[2]) });
    });
    child.once("exit", (code) => reject(new Error(`meridian ${args[0]} exited with ${code}:\n${stderr}`)));
  });
}

async function servePage(html: string, script: string): Promise<string> {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url!, "http://x").pathname;
    if (path === "/app.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script);
    else if (path === "/" || path === "/index.html") res.writeHead(200, { "content-type": "text/html" }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  pages.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  if (!chromiumPath) return;
  dir = mkdtempSync(join(tmpdir(), "meridian-browser-storeapi-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  const bundle = await build({
    entryPoints: [join(root, "examples/browser-storeapi/app.ts")],
    bundle: true, format: "esm", platform: "browser", target: "es2022", write: false, logLevel: "silent",
  });
  const script = bundle.outputFiles[0]!.text;
  const html = readFileSync(join(root, "examples/browser-storeapi/index.html"), "utf8");
  allowedOrigin = await servePage(html, script);
  otherOrigin = await servePage(html, script);

  const bucketDir = join(dir, "bucket");
  await uploadFixtureGroup(createFilesystemBucket(bucketDir), "promtool-openmetrics-2.42", { region: "eu", replica: "a" });
  writeFileSync(join(dir, "token"), TOKEN);
  store = await startCli(["store", `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}`, `--data-dir=${join(dir, "data")}`, `--web.cors-origin=${allowedOrigin}`]);
  await until("store ready", async () => (await fetch(`http://127.0.0.1:${store.http}/-/ready`)).ok);
  // The querier reaches the store over native gRPC; the browser reaches the querier over Connect.
  query = await startCli(["query", `--endpoint=127.0.0.1:${store.grpc}`, "--query.replica-label=replica", `--web.cors-origin=${allowedOrigin}`, `--http.bearer-token-file=${join(dir, "token")}`]);
  await until("querier sees the store", async () => (await (await fetch(`http://127.0.0.1:${query.http}/api/v1/stores`, { headers: { authorization: `Bearer ${TOKEN}` } })).text()).includes('"health":"healthy"'));
  // The querier as a Worker (workerd via Miniflare) with CORS for the page's origin.
  await build({
    entryPoints: [join(root, "src/runtime/workers/worker.ts")], bundle: true, format: "esm", platform: "browser", target: "es2022",
    outfile: join(dir, "worker.mjs"), logLevel: "silent",
    plugins: [{ name: "wasm-module", setup: (b) => b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./meridian.wasm", external: true })) }],
  });
  copyFileSync(wasmPath(), join(dir, "meridian.wasm"));
  worker = new Miniflare({
    modules: true, scriptPath: join(dir, "worker.mjs"), modulesRoot: dir, modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2025-01-01", host: "127.0.0.1", port: 0,
    bindings: { MERIDIAN_BEARER_TOKEN: TOKEN, MERIDIAN_ENDPOINTS: JSON.stringify([`http://127.0.0.1:${store.http}`]), MERIDIAN_CORS_ORIGIN: allowedOrigin },
  });
  workerPort = Number((await worker.ready).port);
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      await exited;
    }
  }
  await Promise.all(pages.map((p) => new Promise<void>((r) => p.close(() => r()))));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface PageResult {
  status: string;
  rows: string[][];
  labelNames: string[];
  labelValues: string[];
}

async function openPage(origin: string, params: Record<string, string>, shot: string): Promise<PageResult> {
  const page: Page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  try {
    await page.goto(`${origin}/?${new URLSearchParams({ ...params, run: "1" })}`);
    await page.waitForFunction(() => /^(done|error)/.test(document.getElementById("status")!.textContent ?? ""), undefined, { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, `browser-storeapi-${shot}.png`), fullPage: true });
    return await page.evaluate(() => ({
      status: document.getElementById("status")!.textContent ?? "",
      rows: [...document.querySelectorAll("#series tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
      labelNames: [...document.querySelectorAll("#label-names span")].map((s) => s.textContent ?? ""),
      labelValues: [...document.querySelectorAll("#label-values span")].map((s) => s.textContent ?? ""),
    }));
  } finally {
    await page.close();
  }
}

/** What a Node client gets from the same StoreAPI, formatted as the page formats it. */
async function expected(port: number, token?: string): Promise<{ rows: string[][]; names: string[]; values: string[] }> {
  const t = createConnectTransport({
    baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1",
    ...(token ? { interceptors: [(next) => (req) => { req.header.set("authorization", `Bearer ${token}`); return next(req); }] } : {}),
  });
  const c = createClient(Store, t);
  const all = { start: -(2n ** 63n), end: 2n ** 63n - 1n };
  const names = (await c.labelNames(create(LabelNamesRequestSchema, all))).names;
  const values = (await c.labelValues(create(LabelValuesRequestSchema, { ...all, label: "instance" }))).values;
  const rows: string[][] = [];
  const req = create(SeriesRequestSchema, { minTime: all.start, maxTime: all.end, matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "demo_gauge" }] });
  for await (const f of c.series(req)) {
    const list = f.result.case === "series" ? [f.result.value] : f.result.case === "batch" ? f.result.value.series : [];
    for (const s of list) {
      const n = s.chunks.reduce((a, ch) => a + ((ch.raw!.data[0]! << 8) | ch.raw!.data[1]!), 0);
      rows.push([`{${s.labels.map((l) => `${l.name}="${l.value}"`).join(", ")}}`, String(s.chunks.length), String(n),
        new Date(Number(s.chunks[0]!.minTime)).toISOString(), new Date(Number(s.chunks[s.chunks.length - 1]!.maxTime)).toISOString()]);
    }
  }
  return { rows, names, values };
}

describe.skipIf(!chromiumPath)("browser StoreAPI example page in Chromium", () => {
  const params = (port: number, extra: Record<string, string> = {}) => ({ store: `http://127.0.0.1:${port}`, selector: '{__name__="demo_gauge"}', label: "instance", ...extra });

  it("calls LabelNames, LabelValues and Series of a meridian store across origins", async () => {
    const got = await openPage(allowedOrigin, params(store.http), "store");
    const want = await expected(store.http);
    expect(got.status).toMatch(/^done: \d+ series/);
    expect(want.rows.length).toBeGreaterThan(0);
    expect(got.rows).toEqual(want.rows);
    expect(got.labelNames).toEqual(want.names);
    expect(got.labelValues).toEqual(want.values);
    expect(got.labelNames).toContain("region");
  });

  it("calls the querier's StoreAPI with the bearer token (and is refused without it)", async () => {
    const got = await openPage(allowedOrigin, params(query.http, { token: TOKEN }), "query");
    const want = await expected(query.http, TOKEN);
    expect(got.status).toMatch(/^done/);
    expect(got.rows).toEqual(want.rows);
    // The StoreAPI keeps replica labels (dedup happens in PromQL evaluation, not in Series).
    expect(got.rows.every(([labels]) => labels!.includes('replica="a"'))).toBe(true);
    const denied = await openPage(allowedOrigin, params(query.http), "query-no-token");
    expect(denied.status).toBe("error: [Unauthenticated] unauthenticated");
    expect(denied.rows).toEqual([]);
  });

  it("calls the querier running as a Cloudflare Worker (Miniflare) across origins", async () => {
    const got = await openPage(allowedOrigin, params(workerPort, { token: TOKEN }), "worker");
    const want = await expected(workerPort, TOKEN);
    expect(got.status).toMatch(/^done: \d+ series/);
    expect(want.rows.length).toBeGreaterThan(0);
    expect(got.rows).toEqual(want.rows);
    expect(got.labelValues).toEqual(want.values);
    const blocked = await openPage(otherOrigin, params(workerPort, { token: TOKEN }), "worker-blocked-origin");
    expect(blocked.status).toMatch(/^error:/);
  });

  it("is blocked by the browser when the page's origin is not allowed", async () => {
    const got = await openPage(otherOrigin, params(store.http), "blocked-origin");
    expect(got.status).toMatch(/^error:/);
    expect(got.status).not.toContain("unauthenticated");
    expect(got.rows).toEqual([]);
    // The same request from Node (no CORS enforcement) succeeds: the browser did the blocking.
    expect((await expected(store.http)).rows.length).toBeGreaterThan(0);
  });
});
