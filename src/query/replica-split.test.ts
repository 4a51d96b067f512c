import { describe, expect, it } from "vitest";
import { splitReplicaRuns } from "./replica-split.ts";

const c = (minTime: number, maxTime: number) => ({ minTime, maxTime });

describe("splitReplicaRuns", () => {
  it("keeps non-overlapping chunks in one run, in time order", () => {
    expect(splitReplicaRuns([c(100, 199), c(0, 99), c(200, 299)])).toEqual([[c(0, 99), c(100, 199), c(200, 299)]]);
  });
  it("puts overlapping chunks of two replicas into two runs", () => {
    const a = [c(0, 99), c(100, 199)];
    const b = [c(5, 104), c(105, 204)];
    expect(splitReplicaRuns([...b, ...a])).toEqual([
      [c(0, 99), c(100, 199)],
      [c(5, 104), c(105, 204)],
    ]);
  });
  it("treats chunks touching at the same millisecond as overlapping", () => {
    expect(splitReplicaRuns([c(0, 100), c(100, 200)])).toHaveLength(2);
  });
  it("returns no runs for no chunks", () => {
    expect(splitReplicaRuns([])).toEqual([]);
  });
});
