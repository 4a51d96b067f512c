/**
 * The /metrics text of a component, checked by Prometheus' own parser and linter
 * (`promtool check metrics`), with label values that need escaping and a histogram.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { createComponentApp } from "../../src/server/app.ts";
import { createMetricsRegistry } from "../../src/server/metrics.ts";
import { createTestStore } from "../../src/server/test-store.ts";
import { registerProcessMetrics } from "../../src/runtime/node/process-metrics.ts";
import { findBinary } from "./helpers/promtool.ts";

const promtool = findBinary("promtool");
if (!promtool) console.warn("SKIPPED metrics promtool test: install Debian's `prometheus` package to run it");

describe.skipIf(!promtool)("/metrics exposition", () => {
  it("passes promtool check metrics", async () => {
    const metrics = createMetricsRegistry();
    registerProcessMetrics(metrics);
    metrics.counter("meridian_test_events_total", "Events with \\ backslash and\nnewline in help.", ["path"]).inc({ path: 'C:\\dir\\"quoted"\nnext' }, 3);
    metrics.histogram("meridian_test_latency_seconds", "Latency.", [0.01, 0.1, 1], ["op"]).observe(0.05, { op: "get" });
    metrics.gauge("meridian_test_temperature_celsius", "A gauge.").set(-Infinity);
    const app = createComponentApp({ storeApi: createTestStore({ series: [] }), ready: () => true, metrics });
    await app.request("/-/healthy");
    const text = await (await app.request("/metrics")).text();
    const res = spawnSync(promtool!, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect({ status: res.status, out: res.stdout + res.stderr }).toEqual({ status: 0, out: "" });
    expect(text).toContain('meridian_test_events_total{path="C:\\\\dir\\\\\\"quoted\\"\\nnext"} 3');
  });
});
