import { describe, expect, it } from "vitest";
import { createEngine } from "../engine.ts";
import { formatReport } from "./report.ts";
import { runScript } from "./runner.ts";

const engine = createEngine({ lookbackDelta: 300_000, maxSamples: 10_000, timeout: 100_000, experimentalFunctions: true, delayedNameRemoval: true });

const script = `
load 1m
  requests_total{job="a"} 0+10x10
  requests_total{job="b"} 0+20x10 stale
  gauge 1 _ 3

eval instant at 5m rate(requests_total[5m])
  {job="a"} 0.16666666666666666
  {job="b"} 0.3333333333333333

eval range from 0 to 2m step 1m gauge
  gauge 1 1 3

eval instant at 5m sum(requests_total)
  {} 150

eval instant at 5m requests_total{job="a"}
  requests_total{job="a"} 51

eval_fail instant at 0 rate(gauge)
  expect fail regex: .*range vector.*

eval instant at 0 1 + 1
  2

eval instant at 5m increase(requests_total[1m] anchored)
  {job="a"} 10

clear

load 1m
  h {{schema:0 count:1 sum:1 buckets:[1]}}x2

eval instant at 1m h
  h {{schema:0 count:1 sum:1 buckets:[1]}}
`;

describe("conformance runner on the real engine", () => {
  it("passes correct expectations, fails wrong ones, skips what needs unsupported features", async () => {
    const out = await runScript(script, engine, { file: "tiny.test" });
    const byLine = Object.fromEntries(out.map((o) => [o.line, o]));
    expect(out.map((o) => o.status)).toEqual(["pass", "pass", "pass", "fail", "pass", "pass", "skip", "skip"]);
    expect(byLine[17]!.cause).toBe("result");
    expect(byLine[17]!.message).toMatch(/expected 51, got 50/);
    expect(byLine[26]!.skip?.reason).toBe("experimental feature");
    expect(byLine[34]!.skip?.reason).toBe("native histograms");
    const report = formatReport([{ file: "tiny.test", outcomes: out }]).split("\n");
    expect(report[report.length - 1]).toBe("5 passed, 1 failed");
    expect(report).toContain("  tiny.test:17  [result]  requests_total{job=\"a\"}");
  });

  it("reports a wrong range value with its step", async () => {
    const out = await runScript("load 1m\n  x 1 2 3\n\neval range from 0 to 2m step 1m x * 2\n  {} 2 4 7\n", engine);
    expect(out[0]!.status).toBe("fail");
    expect(out[0]!.message).toMatch(/point 2 \(t=120s\).*expected 7, got 6/);
  });
});
