/**
 * The web UI in headless Chromium against a real querier (store gateways over gRPC behind it):
 * type a query into the PromQL editor, run it, a uPlot graph renders with the expected series
 * count; the table view lists instant results; the Stores page lists the endpoints. Screenshots go
 * to test/artifacts/ for humans to look at.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelsFromRecord } from "../../src/model/labels.ts";
import type { FloatSeries } from "../../src/model/series.ts";
import { startHttpServer, type RunningServer } from "../../src/runtime/node/serve.ts";
import { writeBlock } from "../../src/tsdb/block-writer.ts";
import { startHaSetup, type HaSetup } from "../helpers/ha-stores.ts";
import { findBinary } from "./helpers/promtool.ts";

const chromiumPath = findBinary("chromium");
if (!chromiumPath) console.warn("SKIPPED UI tests: install Debian's `chromium` package to run them");
const artifacts = join(import.meta.dirname, "..", "artifacts");

const STEP = 15_000;
const NOW = Math.floor(Date.now() / STEP) * STEP;
const START = NOW - 2 * 3600_000;

function gauge(labels: Record<string, string>, value: number): FloatSeries {
  const n = (NOW - START) / STEP;
  const t = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = START + i * STEP;
    v[i] = value + Math.sin(i / 20);
  }
  return { labels: labelsFromRecord(labels), t, v };
}

let setup: HaSetup;
let http: RunningServer;
let browser: Browser;
let base = "";

beforeAll(async () => {
  if (!chromiumPath) return;
  mkdirSync(artifacts, { recursive: true });
  const groups = ["a", "b"].map((replica) => [
    writeBlock(
      ["api", "db", "web"].map((job, k) => gauge({ __name__: "temperature", job }, 10 * (k + 1))),
      { minTime: START, maxTime: NOW + STEP, thanos: { labels: { region: "eu", replica }, source: "sidecar" } },
    ),
  ]);
  setup = await startHaSetup(groups, { replicaLabels: ["replica"] });
  http = await startHttpServer({ address: "127.0.0.1:0", fetch: setup.query.app.fetch });
  base = `http://127.0.0.1:${http.port}`;
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
});

afterAll(async () => {
  await browser?.close();
  await http?.close(1000);
  await setup?.close();
});

async function openGraph(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/`);
  await page.waitForSelector(".cm-content");
  expect(errors).toEqual([]);
  return page;
}

describe.skipIf(!chromiumPath)("web UI in Chromium", () => {
  it("runs a typed range query and draws one deduplicated line per job", async () => {
    const page = await openGraph();
    await page.click(".cm-content");
    await page.keyboard.type("temperature", { delay: 5 });
    await page.keyboard.press("Escape"); // close the autocomplete popup, if it opened
    await page.click("button.execute");
    await page.waitForSelector(".output .uplot");
    expect(await page.getAttribute(".output", "data-series-count")).toBe("3");
    const legend = await page.locator(".u-legend .u-series").allTextContents();
    expect(legend.filter((l) => l.includes("temperature")).length).toBe(3);
    expect(legend.join(" ")).not.toContain("replica");
    await page.screenshot({ path: join(artifacts, "ui-graph.png"), fullPage: true });
    await page.close();
  });

  it("shows both replicas with deduplication off, and instant results as a table", async () => {
    const page = await openGraph();
    await page.click(".cm-content");
    await page.keyboard.type("temperature", { delay: 5 });
    await page.keyboard.press("Escape");
    await page.uncheck("input[name=dedup]");
    await page.click("button.tab >> text=Table");
    await page.waitForSelector(".output table.result-table");
    expect(await page.getAttribute(".output", "data-row-count")).toBe("6");
    expect(await page.locator(".output td.metric").first().textContent()).toContain('replica="a"');
    await page.screenshot({ path: join(artifacts, "ui-table.png"), fullPage: true });
    await page.close();
  });

  it("offers metric names from the querier while typing", async () => {
    const page = await openGraph();
    await page.click(".cm-content");
    await page.keyboard.type("temp", { delay: 20 });
    await page.waitForSelector(".cm-tooltip-autocomplete");
    expect(await page.locator(".cm-tooltip-autocomplete").textContent()).toContain("temperature");
    await page.close();
  });

  it("shows PromQL errors from the API", async () => {
    const page = await openGraph();
    await page.click(".cm-content");
    await page.keyboard.type("sum(", { delay: 5 });
    await page.keyboard.press("Escape");
    await page.click("button.execute");
    await page.waitForSelector(".error:not(:empty)");
    expect(await page.locator(".error").textContent()).toContain("bad_data");
    await page.close();
  });

  it("lists the store gateways on the Stores page", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/#/stores`);
    await page.waitForSelector(".stores-table");
    const rows = page.locator(".store-group[data-component=store] tr.store-row");
    expect(await rows.count()).toBe(2);
    const text = await page.locator(".stores-table").textContent();
    for (const addr of setup.storeAddresses) expect(text).toContain(addr);
    expect(text).toContain("healthy");
    expect(text).toContain('replica="b"');
    await page.screenshot({ path: join(artifacts, "ui-stores.png"), fullPage: true });
    await page.close();
  });
});
