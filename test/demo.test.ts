/**
 * `npm start`'s demo, started in-process as the CLI starts it: blocks written to a filesystem
 * bucket, a store gateway, a querier. Checks that the global view deduplicates the HA replicas
 * into gap-free series and that everything stops cleanly.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemo, type RunningDemo } from "../src/runtime/node/demo.ts";

let dir = "";
let demo: RunningDemo;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-demo-"));
  // No Prometheus on this port: the demo must not start a sidecar.
  demo = await startDemo({ "http-address": "127.0.0.1:0", "data-dir": dir, "prometheus.url": "http://127.0.0.1:1", "log.level": "warn" });
}, 120_000);

afterAll(async () => {
  await demo?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function query(expr: string, extra = ""): Promise<any> {
  const res = await fetch(`${demo.url}/api/v1/query?query=${encodeURIComponent(expr)}${extra}`);
  expect(res.status).toBe(200);
  return res.json();
}

describe("meridian demo", () => {
  it("serves a few hundred deduplicated series across two regions", async () => {
    expect(demo.withSidecar).toBe(false);
    const total = await query("count({__name__=~\".+\"})");
    const n = Number(total.data.result[0].value[1]);
    expect(n).toBeGreaterThanOrEqual(200);
    const byRegion = await query("count by (region) (up)");
    expect(byRegion.data.result.map((r: any) => r.metric.region).sort()).toEqual(["eu-west", "us-east"]);
    const raw = await query("count(up)", "&dedup=false");
    expect(Number(raw.data.result[0].value[1])).toBe(2 * Number((await query("count(up)")).data.result[0].value[1]));
  });

  it("has no gaps in the deduplicated 24 h although every replica has one", async () => {
    const now = Math.floor(Date.now() / 1000);
    const start = now - 23 * 3600;
    const res = await fetch(`${demo.url}/api/v1/query_range?query=${encodeURIComponent("up")}&start=${start}&end=${now - 60}&step=60`);
    const body = await res.json();
    const expected = Math.floor((now - 60 - start) / 60) + 1;
    expect(body.data.result.length).toBe(20);
    for (const s of body.data.result) expect(s.values.length).toBe(expected);
  });

  it("serves the UI", async () => {
    const res = await fetch(`${demo.url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("static/app.js");
  });
});
