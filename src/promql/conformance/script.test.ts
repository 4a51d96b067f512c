import { describe, expect, it } from "vitest";
import { isStaleMarker } from "../../model/series.ts";
import { atModifierVariants } from "./at-modifier.ts";
import { almostEqual, checkAnnotations, compareResult } from "./compare.ts";
import { parseDuration } from "./duration.ts";
import { formatReport } from "./report.ts";
import { parseScript, type EvalCmd, type LoadCmd } from "./script.ts";
import { parseSeriesDesc } from "./series-desc.ts";
import { createDataState, noteLoad, skipReason } from "./skip.ts";

const script = `
# comment
load 5m
  http_requests{job="api", instance="0"} 0+10x3 _ stale -2-1x2 1x1 _x2
  {__name__="other", a="b\\"c"} NaN Inf -Inf 0x1 1e3

eval instant at 10m http_requests
  http_requests{job="api", instance="0"} 20

eval_fail instant at 0m 1 +
  expected_fail_message parse error

eval range from 0 to 10m step 5m other
  other{a="b\\"c"} NaN Inf -Inf

eval instant at 1m count(http_requests)
  expect no_warn
  expect info msg: PromQL info: something
  {} 1

eval instant at 0 1.5
  1.5

clear

load_with_nhcb 1m
  h_bucket{le="1"} 1
  h_bucket{le="+Inf"} 2

eval instant at 0 histogram_quantile(0.5, h)
  {} 1
`;

describe("test script parser", () => {
  const cmds = parseScript(script);
  it("parses durations like model.ParseDuration", () => {
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("10s53ms")).toBe(10_053);
    expect(parseDuration("0")).toBe(0);
    expect(() => parseDuration("5m1h")).toThrow();
  });
  it("expands series values", () => {
    const load = cmds[0] as LoadCmd;
    const v = load.series[0]!.values;
    const nums = v.map((x) => (x.kind === "float" ? (isStaleMarker(x.value) ? "stale" : x.value) : x.kind));
    expect(nums).toEqual([0, 10, 20, 30, "omitted", "stale", -2, -3, -4, 1, 1, "omitted", "omitted"]);
    const o = load.series[1]!;
    expect(o.labels).toEqual([
      { name: "__name__", value: "other" },
      { name: "a", value: 'b"c' },
    ]);
    expect(o.values.map((x) => (x.kind === "float" ? x.value : NaN))).toEqual([NaN, Infinity, -Infinity, 0, 0, 1000]);
    expect(parseSeriesDesc('m {{schema:0 count:1}}x2 {{count:3}}+{{count:1}}x1').values.map((x) => x.kind)).toEqual(["histogram", "histogram", "histogram", "histogram", "histogram"]);
  });
  it("parses eval commands and expectations", () => {
    const evals = cmds.filter((c): c is EvalCmd => c.kind === "eval");
    expect(evals.map((e) => [e.line, e.range, e.start, e.end, e.stepMs])).toEqual([
      [7, false, 600_000, 600_000, 0],
      [10, false, 0, 0, 0],
      [13, true, 0, 600_000, 300_000],
      [16, false, 60_000, 60_000, 0],
      [21, false, 0, 0, 0],
      [30, false, 0, 0, 0],
    ]);
    expect(evals[1]!.fail).toBe(true);
    expect(evals[1]!.expectedFailMessage).toBe("parse error");
    expect(evals[3]!.expects.map((e) => e.type)).toEqual(["no_warn", "info"]);
    expect(evals[4]!.expectScalar).toBe(true);
  });
  it("skips native-histogram and experimental evals only", () => {
    const st = createDataState();
    noteLoad(st, cmds.find((c) => c.kind === "load" && c.withNhcb) as LoadCmd);
    const ev = cmds[cmds.length - 1] as EvalCmd;
    expect(skipReason(ev, st)?.reason).toBe("native histograms");
    const mk = (expr: string) => ({ ...ev, expr, blockText: expr }) as EvalCmd;
    const empty = createDataState();
    expect(skipReason(mk("rate(x[5m])"), empty)).toBeUndefined();
    expect(skipReason(mk("x @ start()"), empty)).toBeUndefined();
    expect(skipReason(mk("changes(x[1800])"), empty)).toBeUndefined();
    expect(skipReason(mk("changes(x[26m+4m])"), empty)?.reason).toBe("experimental feature");
    expect(skipReason(mk("x + fill(0) y"), empty)?.reason).toBe("experimental feature");
    expect(skipReason(mk("limitk(2, x)"), empty)?.reason).toBe("experimental feature");
    expect(skipReason(mk("increase(x[1m] anchored)"), empty)?.reason).toBe("experimental feature");
    expect(skipReason(mk('label_replace(x, "dst", "info", "src", ".*")'), empty)).toBeUndefined();
  });
});

describe("comparison", () => {
  const ev = parseScript(script).find((c) => c.kind === "eval") as EvalCmd;
  it("uses promqltest's relative tolerance", () => {
    expect(almostEqual(1, 1 + 1e-9)).toBe(true);
    expect(almostEqual(1, 1.001)).toBe(false);
    expect(almostEqual(NaN, NaN)).toBe(true);
    expect(almostEqual(0, 1e-300)).toBe(false);
  });
  it("matches vectors by labels", () => {
    const labels = [
      { name: "__name__", value: "http_requests" },
      { name: "instance", value: "0" },
      { name: "job", value: "api" },
    ];
    expect(compareResult(ev, { type: "vector", samples: [{ labels, t: 600_000, v: 20 }] })).toBeUndefined();
    expect(compareResult(ev, { type: "vector", samples: [{ labels, t: 600_000, v: 21 }] })).toMatch(/expected 20, got 21/);
    expect(compareResult(ev, { type: "vector", samples: [] })).toMatch(/not found/);
    expect(compareResult(ev, { type: "scalar", t: 0, v: 20 })).toMatch(/got scalar/);
  });
  it("checks annotations", () => {
    const e = parseScript(script).filter((c) => c.kind === "eval")[3] as EvalCmd;
    expect(checkAnnotations(e, [], ["PromQL info: something"])).toBeUndefined();
    expect(checkAnnotations(e, ["PromQL warning: x"], ["PromQL info: something"])).toMatch(/unexpected warnings/);
    expect(checkAnnotations(e, [], [])).toMatch(/expected info/);
  });
});

describe("@ modifier variants", () => {
  it("adds @ to selectors outside subqueries and skips time-dependent expressions", () => {
    const v = atModifierVariants("sum(rate(x[5m] offset 1m)) + y + max_over_time(z[5m:1m])", 100_000);
    expect(v.map((x) => x.timeMs)).toEqual([-1_000_000, 0, 20_000, 100_000, 1_000_000]);
    expect(v[0]!.expr).toBe("sum(rate(x[5m] offset 1m @ 100.000)) + y @ 100.000 + max_over_time(z[5m:1m] @ 100.000)");
    expect(atModifierVariants("time() - x", 1000)).toEqual([]);
    expect(atModifierVariants("x @ 5", 0).map((x) => x.expr)).toEqual(["x @ 5", "x @ 5", "x @ 5"]);
  });
});

describe("report", () => {
  it("ends with the summary line", () => {
    const text = formatReport([
      {
        file: "a.test",
        outcomes: [
          { file: "a.test", line: 3, expr: "x", status: "pass" },
          { file: "a.test", line: 5, expr: "y", status: "fail", cause: "result", message: "expected 1, got 2" },
          { file: "a.test", line: 7, expr: "limitk(1, x)", status: "skip", skip: { reason: "experimental feature", detail: "limitk" } },
        ],
      },
    ]);
    const lines = text.split("\n");
    expect(lines[lines.length - 1]).toBe("1 passed, 1 failed");
    expect(lines[lines.length - 2]).toBe("1 skipped");
    expect(text).toContain("a.test:5  [result]  y");
    expect(text).toContain("experimental feature (1)");
  });
});
