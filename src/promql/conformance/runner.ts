/**
 * Runs Prometheus test scripts (promqltest format) against a PromQL engine over in-memory data,
 * with promqltest's semantics: each instant eval is also checked with `@`-modifier variants and in
 * range mode (middle step of `[t-1m, t+1m]`), range evals compare every step, failures and
 * annotations are checked as `expect` lines say. Evals that need native histograms or experimental
 * features are skipped with a reason (see skip.ts). Web-standard code; the CLI adds file access.
 */
import type { Labels } from "../../model/labels.ts";
import type { FloatSeries } from "../../model/series.ts";
import { createMemoryQueryable } from "../memory-storage.ts";
import type { Queryable } from "../storage.ts";
import type { QueryResult } from "../value.ts";
import { atModifierVariants } from "./at-modifier.ts";
import { checkAnnotations, checkExpectedFailure, compareResult, compareVector, labelsKey, type VectorSample } from "./compare.ts";
import { isFail, isOrdered, parseScript, type EvalCmd, type LoadCmd } from "./script.ts";
import { createDataState, noteLoad, skipReason, type PromqlFeature, type Skip } from "./skip.ts";

/** The engine surface the runner needs (H6's `Engine` satisfies it). */
export interface ConformanceEngine {
  instantQuery(q: Queryable, expr: string, timeMs: number): Promise<QueryResult>;
  rangeQuery(q: Queryable, expr: string, startMs: number, endMs: number, stepMs: number): Promise<QueryResult>;
}

/** Outcome of one eval command. */
export interface EvalOutcome {
  readonly file: string;
  readonly line: number;
  readonly expr: string;
  readonly status: "pass" | "fail" | "skip";
  readonly skip?: Skip;
  /** Failure category: which check failed (`result`, `range mode`, `@ modifier`, `annotations`, `error`, `expected error`). */
  readonly cause?: string;
  readonly message?: string;
}

/** Options of {@link runScript}. */
export interface RunOptions {
  /** Name used in outcomes. */
  readonly file?: string;
  /** Run promqltest's `@`-modifier variants of instant evals (default true). */
  readonly atModifierVariants?: boolean;
  /** Run evals using experimental functions/aggregators instead of skipping them (default false). */
  readonly runExperimentalFunctions?: boolean;
  /** Experimental features (Prometheus `--enable-feature` names) whose evals run instead of being skipped. */
  readonly features?: ReadonlySet<PromqlFeature>;
}

interface Store {
  series: Map<string, { labels: Labels; points: Map<number, number> }>;
  queryable?: Queryable;
}

function load(store: Store, cmd: LoadCmd): void {
  for (const s of cmd.series) {
    const key = labelsKey(s.labels);
    let entry = store.series.get(key);
    if (!entry) {
      entry = { labels: s.labels, points: new Map() };
      store.series.set(key, entry);
    }
    s.values.forEach((v, i) => {
      if (v.kind === "float") entry.points.set(i * cmd.intervalMs, v.value);
    });
  }
  store.queryable = undefined;
}

function queryable(store: Store): Queryable {
  if (!store.queryable) {
    const list: FloatSeries[] = [];
    for (const { labels, points } of store.series.values()) {
      if (points.size === 0) continue;
      const ts = [...points.keys()].sort((a, b) => a - b);
      list.push({ labels, t: Float64Array.from(ts), v: Float64Array.from(ts, (t) => points.get(t)!) });
    }
    store.queryable = createMemoryQueryable(list);
  }
  return store.queryable;
}

class CheckFailure extends Error {
  constructor(
    readonly category: string,
    message: string,
  ) {
    super(message);
  }
}

function fail(cause: string, message: string | undefined): void {
  if (message !== undefined) throw new CheckFailure(cause, message);
}

/** Runs one instant query (plus its range-mode check) for an instant eval. */
async function runInstant(engine: ConformanceEngine, q: Queryable, ev: EvalCmd, expr: string, timeMs: number, label: string): Promise<void> {
  let res: QueryResult;
  try {
    res = await engine.instantQuery(q, expr, timeMs);
  } catch (err) {
    if (isFail(ev)) return fail("expected error", checkExpectedFailure(ev, err));
    throw new CheckFailure("error", `${label}error: ${(err as Error).message}`);
  }
  if (isFail(ev)) fail("expected error", `${label}expected an error, got a ${res.value.type} result`);
  fail("annotations", checkAnnotations(ev, res.warnings, res.infos ?? []));
  if (ev.expectRangeVector) {
    if (res.value.type !== "matrix") fail("result", `${label}expected a range vector, got ${res.value.type}`);
    fail("result", mapMsg(label, compareResult(ev, res.value)));
    return;
  }
  if (res.value.type === "matrix") fail("result", `${label}received range result on instant evaluation`);
  fail("result", mapMsg(label, compareResult(ev, res.value)));
  if (ev.excludeFromRangeQuery || /(start|end|range|step)\(\)/.test(expr)) return;
  let rr: QueryResult;
  try {
    rr = await engine.rangeQuery(q, expr, timeMs - 60_000, timeMs + 60_000, 60_000);
  } catch (err) {
    throw new CheckFailure("range mode", `${label}range mode error: ${(err as Error).message}`);
  }
  if (isOrdered(ev)) return;
  if (rr.value.type !== "matrix") fail("range mode", `${label}range query returned ${rr.value.type}`);
  if (rr.value.type !== "matrix") return;
  const vec: VectorSample[] = [];
  for (const s of rr.value.series) {
    for (let i = 0; i < s.t.length; i++) {
      if (s.t[i] === timeMs) {
        vec.push({ labels: s.labels, v: s.v[i]! });
        break;
      }
    }
  }
  if (res.value.type === "scalar") {
    if (vec.length === 0) fail("range mode", `${label}range mode: no point at the evaluation time`);
    fail("range mode", mapMsg(`${label}range mode: `, compareResult(ev, { type: "scalar", t: timeMs, v: vec[0]!.v })));
  } else {
    fail("range mode", mapMsg(`${label}range mode: `, compareVector(ev, vec)));
  }
}

function mapMsg(prefix: string, msg: string | undefined): string | undefined {
  return msg === undefined ? undefined : prefix + msg;
}

async function runEval(engine: ConformanceEngine, q: Queryable, ev: EvalCmd, opts: RunOptions): Promise<void> {
  if (ev.range) {
    let res: QueryResult;
    try {
      res = await engine.rangeQuery(q, ev.expr, ev.start, ev.end, ev.stepMs);
    } catch (err) {
      if (isFail(ev)) return fail("expected error", checkExpectedFailure(ev, err));
      throw new CheckFailure("error", `error: ${(err as Error).message}`);
    }
    if (isFail(ev)) fail("expected error", `expected an error, got a ${res.value.type} result`);
    fail("annotations", checkAnnotations(ev, res.warnings, res.infos ?? []));
    fail("result", compareResult(ev, res.value));
    return;
  }
  const t = ev.expectRangeVector ? ev.end : ev.start;
  await runInstant(engine, q, ev, ev.expr, t, "");
  if (opts.atModifierVariants === false) return;
  for (const v of atModifierVariants(ev.expr, t)) {
    try {
      await runInstant(engine, q, ev, v.expr, v.timeMs, `[${v.expr} at ${v.timeMs / 1000}s] `);
    } catch (err) {
      if (err instanceof CheckFailure) throw new CheckFailure("@ modifier", err.message);
      throw err;
    }
  }
}

/**
 * Parses and runs one script. Script syntax errors become a single failed outcome at the offending
 * line (the rest of that file is not run), as Prometheus fails the whole file.
 */
export async function runScript(text: string, engine: ConformanceEngine, opts: RunOptions = {}): Promise<EvalOutcome[]> {
  const file = opts.file ?? "<script>";
  const out: EvalOutcome[] = [];
  let cmds;
  try {
    cmds = parseScript(text);
  } catch (err) {
    const line = (err as { line?: number }).line ?? 0;
    return [{ file, line, expr: "", status: "fail", cause: "script syntax", message: (err as Error).message }];
  }
  const store: Store = { series: new Map() };
  let state = createDataState();
  for (const cmd of cmds) {
    if (cmd.kind === "clear") {
      store.series.clear();
      store.queryable = undefined;
      state = createDataState();
      continue;
    }
    if (cmd.kind === "load") {
      load(store, cmd);
      noteLoad(state, cmd);
      continue;
    }
    const skip = skipReason(cmd, state, opts.features ?? opts.runExperimentalFunctions ?? false);
    if (skip) {
      out.push({ file, line: cmd.line, expr: cmd.expr, status: "skip", skip });
      continue;
    }
    try {
      await runEval(engine, queryable(store), cmd, opts);
      out.push({ file, line: cmd.line, expr: cmd.expr, status: "pass" });
    } catch (err) {
      if (err instanceof CheckFailure) out.push({ file, line: cmd.line, expr: cmd.expr, status: "fail", cause: err.category, message: err.message });
      else out.push({ file, line: cmd.line, expr: cmd.expr, status: "fail", cause: "crash", message: `${(err as Error)?.stack ?? String(err)}`.split("\n").slice(0, 4).join(" | ") });
    }
  }
  return out;
}
