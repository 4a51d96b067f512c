import { describe, expect, it } from "vitest";
import { FlagError, parseFlags } from "./flags.ts";
import { queryCommand } from "./commands.ts";
import { queryOptionsFromFlags } from "./query-flags.ts";

describe("queryOptionsFromFlags", () => {
  it("reads defaults and Thanos flags", () => {
    const o = queryOptionsFromFlags(parseFlags(queryCommand, ["--query.replica-label=replica", "--query.replica-label=rule_replica", "--query.timeout=30s", "--web.cors-origin=https://x.example"]));
    expect(o.replicaLabels).toEqual(["replica", "rule_replica"]);
    expect(o.queryTimeout).toBe(30_000);
    expect(o.engine).toEqual({ lookbackDelta: 300_000, maxSamples: 50_000_000, timeout: 30_000 });
    expect(o.dedupFunc).toBe("penalty");
    expect(o.partialResponseDefault).toBe(true);
    expect(o.cors).toEqual(["https://x.example"]);
    expect(o.flags?.["query.timeout"]).toBe("30s");
  });
  it("rejects an unknown deduplication function", () => {
    expect(() => queryOptionsFromFlags(parseFlags(queryCommand, ["--deduplication.func=max"]))).toThrow(FlagError);
  });
});
