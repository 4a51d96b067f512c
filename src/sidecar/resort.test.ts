import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareLabels, labelsFromRecord, type Labels } from "../model/labels.ts";
import { createResorter } from "./resort.ts";

// Stored label sets over a small alphabet so prefixes, collisions with external names and
// replica labels all occur often.
const names = ["__name__", "a", "b", "cluster", "instance", "job", "replica", "z"];
const labelSet = fc
  .dictionary(fc.constantFrom(...names), fc.constantFrom("1", "2", "3"), { minKeys: 1, maxKeys: 5 })
  .map((r) => labelsFromRecord(r));

function run(stored: Labels[], ext: Labels, replica: string[]) {
  const sorted = [...new Map(stored.map((s) => [JSON.stringify(s), s])).values()].sort(compareLabels);
  const r = createResorter<number>(ext, new Set(replica));
  const out: { labels: Labels; items: number[] }[] = [];
  let maxPending = 0;
  sorted.forEach((s, i) => {
    out.push(...r.push(s, [i]));
    maxPending = Math.max(maxPending, r.pending);
  });
  out.push(...r.finish());
  return { sorted, out, maxPending, r };
}

describe("createResorter", () => {
  it("emits exactly the fully sorted output for any sorted input", () => {
    fc.assert(
      fc.property(
        fc.array(labelSet, { maxLength: 40 }),
        fc.subarray(["cluster", "replica", "b"], { minLength: 1 }),
        fc.subarray(["replica", "cluster", "a"]),
        (stored, extNames, replica) => {
          const ext = labelsFromRecord(Object.fromEntries(extNames.map((n) => [n, "x"])));
          const { sorted, out, r } = run(stored, ext, replica);
          const expected = sorted.map((s, i) => ({ labels: r.outputLabels(s), i })).sort((x, y) => compareLabels(x.labels, y.labels) || x.i - y.i);
          expect(out.map((o) => o.labels)).toEqual(expected.map((e) => e.labels));
          // Every input item is emitted exactly once.
          expect(out.flatMap((o) => o.items).sort((x, y) => x - y)).toEqual(sorted.map((_, i) => i));
          for (let i = 1; i < out.length; i++) expect(compareLabels(out[i - 1]!.labels, out[i]!.labels)).toBeLessThanOrEqual(0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("releases series one by one when stored labels sort before every external label", () => {
    const stored = Array.from({ length: 100 }, (_, i) => labelsFromRecord({ __name__: "up", instance: `i${String(i).padStart(3, "0")}` }));
    const { out, maxPending } = run(stored, labelsFromRecord({ replica: "r0", region: "eu" }), ["replica"]);
    expect(out).toHaveLength(100);
    expect(maxPending).toBe(1);
    expect(out[0]!.labels).toEqual(labelsFromRecord({ __name__: "up", instance: "i000", region: "eu" }));
  });

  it("merges consecutive frames of one series", () => {
    const s = labelsFromRecord({ __name__: "up" });
    const r = createResorter<number>(labelsFromRecord({ replica: "a" }), new Set());
    expect(r.push(s, [1])).toEqual([]);
    expect(r.push(s, [2])).toEqual([]);
    expect(r.finish()).toEqual([{ labels: labelsFromRecord({ __name__: "up", replica: "a" }), items: [1, 2] }]);
  });

  it("keeps the prefix case in order: {a} + ext sorts after {a, b} + ext", () => {
    const { out } = run([labelsFromRecord({ a: "1" }), labelsFromRecord({ a: "1", b: "1" })], labelsFromRecord({ replica: "r" }), []);
    expect(out.map((o) => o.labels)).toEqual([labelsFromRecord({ a: "1", b: "1", replica: "r" }), labelsFromRecord({ a: "1", replica: "r" })]);
  });
});
