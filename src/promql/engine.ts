/**
 * The PromQL engine: parses a query, evaluates it step-wise over a {@link Queryable} and shapes the
 * result as Prometheus' query API does (instant: vector/scalar/string/matrix in evaluation order;
 * range: matrix sorted by labels). Enforces the query limits (timeout, max samples, 11,000 points
 * per series) with Prometheus' error texts.
 */
import { compareLabels } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { exprType, type Expr } from "./ast.ts";
import { Evaluator } from "./evaluator.ts";
import { prefetchSelects } from "./eval-storage.ts";
import type { QueryContext } from "./query-context.ts";
import { parseExpr } from "./parser.ts";
import { resolveDurations } from "./resolve-durations.ts";
import type { Queryable } from "./storage.ts";
import { dropMetricName, labelsKey, type NodeValue, type RangeSeries, type StepSeries } from "./step-series.ts";
import {
  BadDataError, CanceledError, ExecutionError, QueryError, TimeoutError, type QueryResult, type Sample, type Value,
} from "./value.ts";

/** Engine-wide options (Prometheus server flags). */
export interface EngineOptions {
  /** `--query.lookback-delta`, ms (default 5m). */
  readonly lookbackDelta?: number;
  /** `--query.max-samples` (default 50,000,000). */
  readonly maxSamples?: number;
  /**
   * Budget of per-step value slots held at once (default max(4 × maxSamples, 50M)); protects
   * against queries over very many sparse series, which cost memory per step, not per sample.
   */
  readonly maxSlots?: number;
  /** `--query.timeout`, ms (default 2m). */
  readonly timeout?: number;
  /** Enable Prometheus' `promql-experimental-functions` (limitk, sort_by_label, mad_over_time, ...). */
  readonly experimentalFunctions?: boolean;
  /** Prometheus `promql-binop-fill-modifiers`: `fill(v)`, `fill_left(v)`, `fill_right(v)`. */
  readonly binopFillModifiers?: boolean;
  /** Prometheus `promql-duration-expr`: arithmetic, `step()` and `range()` in durations. */
  readonly durationExpressions?: boolean;
  /** Prometheus `promql-extended-range-selectors`: `anchored` and `smoothed`. */
  readonly extendedRangeSelectors?: boolean;
  /** Prometheus `type-and-unit-labels`: `__type__` decides whether rate/increase warn about non-counters. */
  readonly typeAndUnitLabels?: boolean;
  /** Prometheus 3 `promql-delayed-name-removal`: drop `__name__` at the end of evaluation. Default false, as Prometheus. */
  readonly delayedNameRemoval?: boolean;
  /** Default subquery step, ms, when a subquery has none (Prometheus: the evaluation interval, 1m). */
  readonly noStepSubqueryInterval?: number;
}

/** Per-query options. */
export interface QueryOptions {
  /** Overrides the engine's lookback delta for this query (ms). */
  readonly lookbackDelta?: number;
  /** Overrides the engine's timeout for this query (ms); the caller caps it (`--query.timeout`). */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

/** Runs PromQL queries. */
export interface Engine {
  instantQuery(q: Queryable, expr: string, timeMs: number, opts?: QueryOptions): Promise<QueryResult>;
  rangeQuery(q: Queryable, expr: string, startMs: number, endMs: number, stepMs: number, opts?: QueryOptions): Promise<QueryResult>;
}

/** Maximum points per series of a range query (Prometheus' API limit). */
export const MAX_POINTS_PER_SERIES = 11_000;

/** Parsed query texts an engine keeps (least recently used dropped first). */
const PARSE_CACHE_ENTRIES = 512;
/** Longer query texts are not cached (bounds the cache's memory to a few MB). */
const PARSE_CACHE_MAX_CHARS = 4096;

/** Creates an engine. */
export function createEngine(opts: EngineOptions = {}): Engine {
  const lookbackDefault = opts.lookbackDelta ?? 300_000;
  const maxSamples = opts.maxSamples ?? 50_000_000;
  const timeout = opts.timeout ?? 120_000;
  const delayed = opts.delayedNameRemoval ?? false;
  const noStep = opts.noStepSubqueryInterval ?? 60_000;

  function context(q: Queryable, text: string, start: number, end: number, step: number, qo: QueryOptions | undefined, lookback: number): QueryContext {
    const ms = qo?.timeout !== undefined && qo.timeout > 0 ? qo.timeout : timeout;
    // Storage calls get a signal that fires on cancellation or at the deadline, so a slow store
    // cannot hold the query past its timeout.
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(new TimeoutError()), ms);
    (handle as { unref?: () => void }).unref?.();
    // Fired when the query ends, to cancel prefetched selects nobody will read (after an error).
    const done = new AbortController();
    const signals = qo?.signal ? [qo.signal, timer.signal, done.signal] : [timer.signal, done.signal];
    const any = (AbortSignal as { any?: (s: AbortSignal[]) => AbortSignal }).any;
    return {
      queryStep: step,
      storageSignal: any ? any(signals) : timer.signal,
      timedOut: () => timer.signal.aborted,
      stopTimer: () => {
        clearTimeout(handle);
        done.abort(new CanceledError("query finished"));
      },
      querier: q.querier(start - lookback, end),
      query: text,
      queryStart: start,
      queryEnd: end,
      lookbackDelta: lookback,
      maxSamples,
      ...(opts.maxSlots !== undefined ? { maxSlots: opts.maxSlots } : {}),
      deadline: Date.now() + ms,
      signal: qo?.signal,
      delayedNameRemoval: delayed,
      typeAndUnitLabels: opts.typeAndUnitLabels ?? false,
      noStepSubqueryInterval: noStep,
      warnings: new Set(),
      infos: new Set(),
      samples: 0,
    };
  }

  const parseOptions = {
    experimentalFunctions: opts.experimentalFunctions ?? false,
    binopFillModifiers: opts.binopFillModifiers ?? false,
    durationExpressions: opts.durationExpressions ?? false,
    extendedRangeSelectors: opts.extendedRangeSelectors ?? false,
  };
  // Dashboards send the same few query texts over and over (only the times change); parsing one
  // costs ~0.5 ms, a noticeable part of a small instant query. Trees are immutable (readonly
  // types; evaluation and resolveDurations build new nodes), so they can be shared between queries.
  const parsed = new Map<string, Expr>();

  function parse(text: string): Expr {
    const hit = parsed.get(text);
    if (hit !== undefined) {
      parsed.delete(text); // refresh its place in the LRU order
      parsed.set(text, hit);
      return hit;
    }
    const expr = parseExpr(text, parseOptions);
    if (text.length <= PARSE_CACHE_MAX_CHARS) {
      parsed.set(text, expr);
      if (parsed.size > PARSE_CACHE_ENTRIES) parsed.delete(parsed.keys().next().value!);
    }
    return expr;
  }

  function lookbackOf(qo?: QueryOptions): number {
    const l = qo?.lookbackDelta;
    return l !== undefined && l > 0 ? l : lookbackDefault;
  }

  return {
    async instantQuery(q, text, timeMs, qo) {
      const expr = resolveDurations(parse(text), 0, 0);
      const lookback = lookbackOf(qo);
      const ctx = context(q, text, timeMs, timeMs, 0, qo, lookback);
      const ev = new Evaluator(ctx, timeMs, timeMs, 1);
      const val = await run(ev, expr);
      return { value: instantValue(ctx, val, timeMs), warnings: [...ctx.warnings], infos: [...ctx.infos] };
    },
    async rangeQuery(q, text, startMs, endMs, stepMs, qo) {
      if (!(stepMs > 0)) throw new BadDataError("zero or negative query resolution step widths are not accepted. Try a positive integer");
      if (endMs < startMs) throw new BadDataError("end timestamp must not be before start time");
      if ((endMs - startMs) / stepMs > MAX_POINTS_PER_SERIES) {
        throw new BadDataError("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
      }
      const expr = resolveDurations(parse(text), stepMs, endMs - startMs);
      const t = exprType(expr);
      if (t !== "scalar" && t !== "vector") {
        throw new BadDataError(`invalid expression type "${t === "matrix" ? "range vector" : t}" for range query, must be Scalar or instant Vector`);
      }
      const lookback = lookbackOf(qo);
      const ctx = context(q, text, startMs, endMs, stepMs, qo, lookback);
      const ev = new Evaluator(ctx, startMs, endMs, stepMs);
      const val = await run(ev, expr);
      return { value: rangeValue(ctx, ev, val), warnings: [...ctx.warnings], infos: [...ctx.infos] };
    },
  };
}

async function run(ev: Evaluator, expr: Expr): Promise<NodeValue> {
  try {
    prefetchSelects(ev, expr);
    return await ev.eval(expr);
  } catch (err) {
    if (err instanceof QueryError) throw err;
    // A storage call aborted by the deadline or the caller.
    if (ev.ctx.signal?.aborted) throw new CanceledError();
    if (ev.ctx.timedOut?.() || Date.now() > ev.ctx.deadline) throw new TimeoutError();
    if (err instanceof RangeError) throw new ExecutionError(`query processing failed: ${err.message}`);
    throw err;
  } finally {
    ev.ctx.stopTimer?.();
  }
}

function cleanup(ctx: QueryContext, series: StepSeries[]): StepSeries[] {
  if (!ctx.delayedNameRemoval) return series;
  for (const s of series) {
    if (s.dropName) {
      s.labels = dropMetricName(s.labels);
      s.dropName = false;
    }
  }
  return series;
}

function instantValue(ctx: QueryContext, val: NodeValue, t: number): Value {
  switch (val.type) {
    case "scalar":
      return { type: "scalar", t, v: val.v[0]! };
    case "string":
      return { type: "string", t, v: val.s };
    case "matrix": {
      const series = cleanupMatrix(ctx, val.series);
      return { type: "matrix", series: series.map((s) => ({ labels: s.labels, t: s.t, v: s.v })) };
    }
    case "vector": {
      const series = cleanup(ctx, val.series);
      const samples: Sample[] = [];
      const seen = new Set<string>();
      for (const s of series) {
        if (!s.p[0]) continue;
        const key = labelsKey(s.labels);
        if (seen.has(key)) throw new ExecutionError("vector cannot contain metrics with the same labelset");
        seen.add(key);
        samples.push({ labels: s.labels, t, v: s.v[0]! });
      }
      return { type: "vector", samples };
    }
  }
}

function cleanupMatrix(ctx: QueryContext, series: RangeSeries[]): RangeSeries[] {
  if (!ctx.delayedNameRemoval) return series;
  const out = series.map((s) => (s.dropName ? { ...s, labels: dropMetricName(s.labels), dropName: false } : s));
  const keys = new Set<string>();
  for (const s of out) {
    const k = labelsKey(s.labels);
    if (keys.has(k)) throw new ExecutionError("vector cannot contain metrics with the same labelset");
    keys.add(k);
  }
  return out;
}

function rangeValue(ctx: QueryContext, ev: Evaluator, val: NodeValue): Value {
  let series: StepSeries[];
  if (val.type === "scalar") {
    series = [{ labels: [], v: val.v, p: new Uint8Array(ev.n).fill(1), dropName: false }];
  } else if (val.type === "vector") {
    series = cleanup(ctx, val.series);
  } else {
    throw new ExecutionError(`invalid expression type "${val.type}" for range query, must be Scalar or instant Vector`);
  }
  // Merge series that became identical after name removal (overlap is an error).
  const byKey = new Map<string, StepSeries>();
  const merged: StepSeries[] = [];
  for (const s of series) {
    const k = labelsKey(s.labels);
    const prev = byKey.get(k);
    if (!prev) {
      byKey.set(k, s);
      merged.push(s);
      continue;
    }
    for (let i = 0; i < ev.n; i++) {
      if (!s.p[i]) continue;
      if (prev.p[i]) throw new ExecutionError("vector cannot contain metrics with the same labelset");
      prev.p[i] = 1;
      prev.v[i] = s.v[i]!;
    }
  }
  const out: FloatSeries[] = [];
  // Series with a value at every step share one timestamp array and keep their value array.
  let allSteps: Float64Array | null = null;
  for (const s of merged) {
    let k = 0;
    for (let i = 0; i < ev.n; i++) k += s.p[i]!;
    if (k === 0) continue;
    if (k === ev.n) {
      if (!allSteps) {
        allSteps = new Float64Array(ev.n);
        for (let i = 0; i < ev.n; i++) allSteps[i] = ev.ts(i);
      }
      out.push({ labels: s.labels, t: allSteps, v: s.v });
      continue;
    }
    const t = new Float64Array(k);
    const v = new Float64Array(k);
    k = 0;
    for (let i = 0; i < ev.n; i++) {
      if (!s.p[i]) continue;
      t[k] = ev.ts(i);
      v[k] = s.v[i]!;
      k++;
    }
    out.push({ labels: s.labels, t, v });
  }
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return { type: "matrix", series: out };
}
