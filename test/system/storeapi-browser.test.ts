/**
 * Browsers call the StoreAPI directly: Meridian's StoreAPI client (Connect over fetch) and a
 * connect-web gRPC-Web client, bundled with esbuild and run in Chromium on a page from another
 * origin, against the component app served by Node. Checks CORS preflights, exposed gRPC-Web headers
 * (error codes readable) and that a non-allowed origin is refused by the browser.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { startHttpServer } from "../../src/runtime/node/serve.ts";
import type { RunningServer } from "../../src/runtime/node/serve.ts";
import { createComponentApp } from "../../src/server/app.ts";
import { createMetricsRegistry } from "../../src/server/metrics.ts";
import { createTestStore } from "../../src/server/test-store.ts";
import { findBinary } from "./helpers/promtool.ts";
import type { BrowserResult } from "./helpers/storeapi-browser-entry.ts";

const chromiumPath = findBinary("chromium");
if (!chromiumPath) console.warn("SKIPPED StoreAPI browser tests: install Debian's `chromium` package to run them");

let browser: Browser;
let page: http.Server;
let pageOrigin = "";
let allowed: RunningServer;
let other: RunningServer;

beforeAll(async () => {
  if (!chromiumPath) return;
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("./helpers/storeapi-browser-entry.ts", import.meta.url))],
    bundle: true, format: "esm", platform: "browser", target: "es2022", write: false,
  });
  const script = bundle.outputFiles[0]!.text;
  page = http.createServer((req, res) => {
    if (req.url === "/app.js") { res.writeHead(200, { "content-type": "text/javascript" }); res.end(script); return; }
    res.writeHead(200, { "content-type": "text/html" });
    res.end('<!doctype html><script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((r) => page.listen(0, "127.0.0.1", r));
  pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
  const store = createTestStore({
    externalLabels: { cluster: "eu" },
    series: [
      { labels: { __name__: "up", job: "b" }, chunks: [{ minTime: 0, maxTime: 10, data: new Uint8Array([1]) }] },
      { labels: { __name__: "up", job: "a" }, chunks: [{ minTime: 0, maxTime: 10, data: new Uint8Array([2]) }] },
    ],
  });
  allowed = await startHttpServer({ address: "127.0.0.1:0", fetch: createComponentApp({ storeApi: store, ready: () => true, metrics: createMetricsRegistry(), cors: [pageOrigin] }).fetch });
  other = await startHttpServer({ address: "127.0.0.1:0", fetch: createComponentApp({ storeApi: store, ready: () => true, metrics: createMetricsRegistry(), cors: ["http://elsewhere.example"] }).fetch });
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([allowed?.close(), other?.close()]);
  page?.close();
});

async function runInPage(baseUrl: string): Promise<BrowserResult> {
  const p = await browser.newPage();
  try {
    await p.goto(pageOrigin);
    await p.waitForFunction(() => "meridianRun" in globalThis);
    return await p.evaluate((url) => (globalThis as unknown as { meridianRun(u: string): Promise<BrowserResult> }).meridianRun(url), baseUrl);
  } finally {
    await p.close();
  }
}

describe.skipIf(!chromiumPath)("StoreAPI from a browser", () => {
  it("calls Info, Series and LabelNames over Connect and gRPC-Web across origins", async () => {
    const res = await runInPage(`http://127.0.0.1:${allowed.port}`);
    expect(res.error).toBeUndefined();
    expect(res.componentType).toBe("store");
    expect(res.series).toEqual(["__name__=up,cluster=eu,job=a", "__name__=up,cluster=eu,job=b"]);
    expect(res.labelNames).toEqual(["__name__", "cluster", "job"]);
    expect(res.grpcWebSeries).toEqual(["up,eu,a", "up,eu,b"]);
    expect(res.grpcWebBadRegexCode).toBe(String(Code.InvalidArgument));
  });

  it("is refused by the browser for an origin not in --cors", async () => {
    const res = await runInPage(`http://127.0.0.1:${other.port}`);
    expect(res.error).toMatch(/fetch|network/i);
  });
});
