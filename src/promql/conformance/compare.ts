/**
 * Result comparison as promqltest's `compareResult`: series are matched by label set, values with
 * `almost.Equal(a, b, 1e-6)` (relative; NaN equals NaN; the stale marker only equals itself),
 * matrices must be sorted by labels, ordered evals check positions. Errors are short strings meant
 * for the runner's failure listing.
 */
import { compareLabels, formatLabels, type Labels } from "../../model/labels.ts";
import { isStaleMarker } from "../../model/series.ts";
import type { Value } from "../value.ts";
import type { EvalCmd, ExpectedEntry } from "./script.ts";
import { isOrdered } from "./script.ts";

/** Relative tolerance of promqltest (`defaultEpsilon`). */
export const DEFAULT_EPSILON = 1e-6;

const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' `util/almost.Equal`, including the stale-marker rule. */
export function almostEqual(a: number, b: number, epsilon = DEFAULT_EPSILON): boolean {
  const sa = isStaleMarker(a);
  const sb = isStaleMarker(b);
  if (sa || sb) return sa && sb;
  if (a !== a && b !== b) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** Canonical key of a label set. */
export function labelsKey(labels: Labels): string {
  return labels.map((l) => `${l.name}\u0000${l.value}`).join("\u0001");
}

function fmtNum(v: number): string {
  if (isStaleMarker(v)) return "stale";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function fmtLabels(labels: Labels): string {
  const s = formatLabels(labels);
  return s === "" ? "{}" : s;
}

/** A vector, possibly taken from a range query's middle step. */
export interface VectorSample {
  readonly labels: Labels;
  readonly v: number;
}

/**
 * Compares a query result with the eval's expectations. `rangeCtx` gives start/step/end for matrix
 * results (the eval's range, or the `expect range vector` directive). Returns an error message, or
 * undefined when everything matches.
 */
export function compareResult(ev: EvalCmd, value: Value): string | undefined {
  const expected = new Map<string, ExpectedEntry>();
  for (const e of ev.expected) expected.set(labelsKey(e.labels), e);
  switch (value.type) {
    case "matrix": {
      if (isOrdered(ev)) return "expected ordered result, but query returned a matrix";
      if (ev.expectScalar) return `expected scalar result, but got a matrix of ${value.series.length} series`;
      for (let i = 1; i < value.series.length; i++) {
        if (compareLabels(value.series[i - 1]!.labels, value.series[i]!.labels) > 0) {
          return `matrix results should always be sorted by labels: ${fmtLabels(value.series[i]!.labels)} after ${fmtLabels(value.series[i - 1]!.labels)}`;
        }
      }
      const seen = new Set<string>();
      for (const s of value.series) {
        const key = labelsKey(s.labels);
        const exp = expected.get(key);
        const got = () => [...s.v].map((v, i) => `${fmtNum(v)}@${s.t[i]! / 1000}s`).slice(0, 12).join(" ");
        if (!exp) return `unexpected series ${fmtLabels(s.labels)}: ${got()}`;
        seen.add(key);
        const expT: number[] = [];
        const expV: number[] = [];
        for (let i = 0; i < exp.values.length; i++) {
          const t = ev.start + i * ev.stepMs;
          if (t > ev.end) return `expected ${exp.values.length} points for ${fmtLabels(exp.labels)}, but the query range cannot return this many`;
          const sv = exp.values[i]!;
          if (sv.kind === "float") {
            expT.push(t);
            expV.push(sv.value);
          }
        }
        if (expT.length !== s.t.length) return `expected ${expT.length} points for ${fmtLabels(exp.labels)}, got ${s.t.length}: ${got()}`;
        for (let i = 0; i < expT.length; i++) {
          if (expT[i] !== s.t[i]) return `point ${i} of ${fmtLabels(exp.labels)}: expected t=${expT[i]! / 1000}s, got t=${s.t[i]! / 1000}s (${got()})`;
          if (!almostEqual(s.v[i]!, expV[i]!)) return `point ${i} (t=${expT[i]! / 1000}s) of ${fmtLabels(exp.labels)}: expected ${fmtNum(expV[i]!)}, got ${fmtNum(s.v[i]!)} (${got()})`;
        }
      }
      for (const [key, e] of expected) if (!seen.has(key)) return `expected series ${fmtLabels(e.labels)} not found`;
      return undefined;
    }
    case "vector":
      return compareVector(ev, value.samples, expected);
    case "scalar": {
      if (!ev.expectScalar) return `expected vector or matrix result, but got scalar ${fmtNum(value.v)}`;
      const e = ev.expected[0]!.values[0]!;
      if (e.kind !== "float") return "expected histogram but got scalar";
      if (!almostEqual(e.value, value.v)) return `expected scalar ${fmtNum(e.value)} but got ${fmtNum(value.v)}`;
      return undefined;
    }
    case "string":
      if (ev.expectedString !== value.v) return `expected string ${JSON.stringify(ev.expectedString ?? "")} but got ${JSON.stringify(value.v)}`;
      return undefined;
  }
}

/** Vector comparison (also used for the range-mode check of instant evals). */
export function compareVector(ev: EvalCmd, samples: readonly VectorSample[], expected?: Map<string, ExpectedEntry>): string | undefined {
  if (ev.expectScalar) return `expected scalar result, but got vector of ${samples.length} samples`;
  const exp = expected ?? new Map(ev.expected.map((e) => [labelsKey(e.labels), e] as const));
  const seen = new Set<string>();
  const ordered = isOrdered(ev);
  for (let pos = 0; pos < samples.length; pos++) {
    const s = samples[pos]!;
    const key = labelsKey(s.labels);
    const e = exp.get(key);
    if (!e) return `unexpected series ${fmtLabels(s.labels)} ${fmtNum(s.v)}`;
    if (ordered && e.pos !== pos + 1) return `expected ${fmtLabels(s.labels)} at position ${e.pos} but was at ${pos + 1}`;
    const e0 = e.values[0]!;
    if (e0.kind !== "float") return `expected histogram for ${fmtLabels(s.labels)} but got float ${fmtNum(s.v)}`;
    if (!almostEqual(e0.value, s.v)) return `${fmtLabels(s.labels)}: expected ${fmtNum(e0.value)}, got ${fmtNum(s.v)}`;
    seen.add(key);
  }
  for (const [key, e] of exp) if (!seen.has(key)) return `expected series ${fmtLabels(e.labels)} ${e.values[0]?.kind === "float" ? fmtNum(e.values[0].value) : ""} not found`;
  return undefined;
}

/** Checks warnings/infos against `eval_warn`/`eval_info` and `expect warn|info|no_warn|no_info`. */
export function checkAnnotations(ev: EvalCmd, warnings: readonly string[], infos: readonly string[]): string | undefined {
  if (ev.warn && warnings.length === 0) return "expected warnings but got none";
  if (ev.info && infos.length === 0) return "expected info annotations but got none";
  const check = (type: "warn" | "info", actual: readonly string[]): string | undefined => {
    const exps = ev.expects.filter((e) => e.type === type);
    if (exps.length === 0) return undefined;
    if (actual.length === 0) return `expected ${type} annotations but none were found`;
    const matches = (e: (typeof exps)[number], s: string) => (e.regex ? e.regex.test(s) : e.message === s);
    for (const e of exps) {
      if (!actual.some((s) => matches(e, s))) return `expected ${type} annotation ${e.regex ? `matching /${e.regex.source}/` : JSON.stringify(e.message)}, found: ${JSON.stringify(actual)}`;
    }
    for (const s of actual) if (!exps.some((e) => matches(e, s))) return `unexpected ${type} annotation ${JSON.stringify(s)}`;
    return undefined;
  };
  const w = check("warn", warnings) ?? check("info", infos);
  if (w) return w;
  if (ev.expects.some((e) => e.type === "no_warn") && warnings.length > 0) return `unexpected warnings: ${JSON.stringify(warnings)}`;
  if (ev.expects.some((e) => e.type === "no_info") && infos.length > 0) return `unexpected info annotations: ${JSON.stringify(infos)}`;
  return undefined;
}

/** Checks an error against `expected_fail_message`/`_regexp` and `expect fail msg:|regex:`. */
export function checkExpectedFailure(ev: EvalCmd, err: unknown): string | undefined {
  const msg = err instanceof Error ? err.message : String(err);
  if (ev.expectedFailMessage !== undefined && ev.expectedFailMessage !== "" && ev.expectedFailMessage !== msg) return `expected error ${JSON.stringify(ev.expectedFailMessage)}, got ${JSON.stringify(msg)}`;
  if (ev.expectedFailRegexp && !ev.expectedFailRegexp.test(msg)) return `expected error matching /${ev.expectedFailRegexp.source}/, got ${JSON.stringify(msg)}`;
  const f = ev.expects.find((e) => e.type === "fail");
  if (f && !(f.regex ? f.regex.test(msg) : f.message === msg)) return `expected error ${f.regex ? `matching /${f.regex.source}/` : JSON.stringify(f.message)}, got ${JSON.stringify(msg)}`;
  return undefined;
}
