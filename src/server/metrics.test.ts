import { describe, expect, it } from "vitest";
import { createMetricsRegistry, escapeLabelValue, formatMetricValue } from "./metrics.ts";

describe("metrics registry", () => {
  it("renders counters, gauges and histograms in text format 0.0.4", () => {
    const r = createMetricsRegistry();
    const c = r.counter("requests_total", "Requests.\nSecond line with \\ backslash.", ["code"]);
    c.inc({ code: "200" });
    c.inc({ code: "200" }, 2);
    c.inc({ code: "500" });
    r.gauge("temperature", "Temp.").set(-1.5);
    const h = r.histogram("latency_seconds", "Latency.", [0.1, 1], ["op"]);
    h.observe(0.05, { op: "get" });
    h.observe(0.5, { op: "get" });
    h.observe(7, { op: "get" });
    expect(r.render()).toBe(
      [
        "# HELP latency_seconds Latency.",
        "# TYPE latency_seconds histogram",
        'latency_seconds_bucket{op="get",le="0.1"} 1',
        'latency_seconds_bucket{op="get",le="1"} 2',
        'latency_seconds_bucket{op="get",le="+Inf"} 3',
        'latency_seconds_sum{op="get"} 7.55',
        'latency_seconds_count{op="get"} 3',
        "# HELP requests_total Requests.\\nSecond line with \\\\ backslash.",
        "# TYPE requests_total counter",
        'requests_total{code="200"} 3',
        'requests_total{code="500"} 1',
        "# HELP temperature Temp.",
        "# TYPE temperature gauge",
        "temperature -1.5",
        "",
      ].join("\n"),
    );
  });

  it("escapes label values and formats special floats", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const r = createMetricsRegistry();
    r.gauge("g", "h", ["path"]).set(NaN, { path: 'x"y' });
    expect(r.render()).toContain('g{path="x\\"y"} NaN');
    expect(formatMetricValue(Infinity)).toBe("+Inf");
    expect(formatMetricValue(-Infinity)).toBe("-Inf");
  });

  it("renders an unlabeled metric at 0 before first use and returns the same metric on re-registration", () => {
    const r = createMetricsRegistry();
    const a = r.counter("x_total", "x");
    expect(r.render()).toContain("x_total 0\n");
    expect(r.counter("x_total", "x")).toBe(a);
    expect(() => r.gauge("x_total", "x")).toThrow(/already registered/);
  });

  it("rejects invalid names, unknown labels and negative counter increments", () => {
    const r = createMetricsRegistry();
    expect(() => r.counter("1bad", "x")).toThrow(/invalid metric name/);
    expect(() => r.counter("ok", "x", ["__reserved"])).toThrow(/invalid label name/);
    expect(() => r.histogram("h", "x", [1], ["le"])).toThrow(/le/);
    const c = r.counter("c_total", "x", ["a"]);
    expect(() => c.inc({ b: "1" })).toThrow(/unknown label/);
    expect(() => c.inc({ a: "1" }, -1)).toThrow(/cannot add/);
  });

  it("runs collect hooks before rendering", () => {
    const r = createMetricsRegistry();
    const g = r.gauge("sampled", "x");
    let n = 0;
    r.onCollect(() => g.set(++n));
    expect(r.render()).toContain("sampled 1\n");
    expect(r.render()).toContain("sampled 2\n");
  });
});
