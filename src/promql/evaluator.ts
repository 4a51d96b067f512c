/**
 * The step-based evaluator: evaluates one expression node over all steps of a (sub)query at once.
 * Selectors are fetched from the {@link Querier} when reached, with Prometheus-style hints; range
 * windows move two indices over each series' typed arrays (left-open `(t - range, t]`), so no
 * per-sample objects are created. Operators, aggregations and functions live in their own modules
 * and are called from {@link Evaluator.eval}.
 */
import { isStaleMarker, type FloatSeries } from "../model/series.ts";
import { children, type Expr, type MatrixSelector, type PosRange, type SubqueryExpr, type VectorSelector } from "./ast.ts";
import { evalAggregate } from "./eval-aggregate.ts";
import { evalBinary } from "./eval-binary.ts";
import { evalCall } from "./functions.ts";
import { extendFloats, smoothedValue, withoutStaleMarkers } from "./extended-range.ts";
import type { Querier, SelectHints, SelectResult } from "./storage.ts";
import { countPoints, dropMetricName, mergeSameLabels, newStepSeries, type NodeValue, type RangeSeries, type StepSeries } from "./step-series.ts";
import { CanceledError, ExecutionError, TimeoutError } from "./value.ts";

/** State shared by all evaluators of one query. */
export interface QueryContext {
  readonly querier: Querier;
  /** The query text (annotations carry `line:col` positions into it). */
  readonly query: string;
  /** Query start/end in ms, for `@ start()` / `@ end()`. */
  readonly queryStart: number;
  readonly queryEnd: number;
  /** Query step in ms (0 for instant queries), for `step()`. */
  readonly queryStep: number;
  readonly lookbackDelta: number;
  readonly maxSamples: number;
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** Passed to storage: fires on cancellation or when the deadline passes. */
  readonly storageSignal?: AbortSignal;
  /** True once the deadline timer fired. */
  readonly timedOut?: () => boolean;
  /** Selects started ahead of evaluation by {@link Evaluator.prefetch}, by selector and hint range. */
  prefetched?: Map<VectorSelector, Map<string, Promise<SelectResult>>>;
  /** Clears the deadline timer when the query ends. */
  readonly stopTimer?: () => void;
  readonly delayedNameRemoval: boolean;
  /** Prometheus `type-and-unit-labels`: decide "is a counter" from `__type__`. */
  readonly typeAndUnitLabels?: boolean;
  /** Default subquery step when none is given (Prometheus: the global evaluation interval, 1m). */
  readonly noStepSubqueryInterval: number;
  readonly warnings: Set<string>;
  readonly infos: Set<string>;
  /** Samples currently held, for the max-samples limit. */
  samples: number;
  /**
   * Per-step value slots currently allocated. Sparse series cost a slot per step whatever their
   * sample count, so this separate budget keeps a query over many short-lived series from
   * exhausting memory before the sample limit would trip.
   */
  slots?: number;
  /** Budget for {@link QueryContext.slots}; default max(4 × maxSamples, 50M). */
  readonly maxSlots?: number;
}

/** A range-vector operand: raw samples plus how windows are placed over them. */
export interface RangeOperand {
  readonly series: RangeSeries[];
  readonly range: number;
  readonly offset: number;
  /** Fixed evaluation time from `@`, or null. */
  readonly at: number | null;
  /** Experimental extended range selectors. */
  readonly anchored?: boolean;
  readonly smoothed?: boolean;
}

/** Minimum slot budget (≈450 MB of step slots), so small sample limits do not refuse dense queries. */
const SLOT_FLOOR = 50_000_000;

/** Error text Prometheus uses when `--query.max-samples` is exceeded. */
export const TOO_MANY_SAMPLES = "query processing would load too many samples into memory in query execution";

/** Evaluates nodes over the steps `start, start+interval, ..., <= end`. */
export class Evaluator {
  /** Number of steps. */
  readonly n: number;

  constructor(
    readonly ctx: QueryContext,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
  ) {
    this.n = end < start ? 0 : Math.floor((end - start) / interval) + 1;
  }

  /** Timestamp of step `i`. */
  ts(i: number): number {
    return this.start + i * this.interval;
  }

  /** Throws when the query timed out or was canceled. Cheap; call once per series or step. */
  check(): void {
    if (this.ctx.signal?.aborted) throw new CanceledError();
    if (Date.now() > this.ctx.deadline || this.ctx.timedOut?.()) throw new TimeoutError();
  }

  /** Adds a Prometheus-style warning annotation: `PromQL warning: ... (line:col)`. */
  warn(msg: string, pos: PosRange): void {
    this.ctx.warnings.add(`PromQL warning: ${msg} (${this.position(pos)})`);
  }

  /** Adds an info annotation: `PromQL info: ... (line:col)`. */
  info(msg: string, pos: PosRange): void {
    this.ctx.infos.add(`PromQL info: ${msg} (${this.position(pos)})`);
  }

  private position(pos: PosRange): string {
    let line = 1;
    let col = 1;
    for (let i = 0; i < pos.start && i < this.ctx.query.length; i++) {
      if (this.ctx.query.charCodeAt(i) === 10) {
        line++;
        col = 1;
      } else col++;
    }
    return `${line}:${col}`;
  }

  /** Adds `k` samples to the in-memory count and enforces the limit. */
  account(k: number): void {
    this.ctx.samples += k;
    if (this.ctx.samples > this.ctx.maxSamples) throw new ExecutionError(TOO_MANY_SAMPLES);
  }

  release(k: number): void {
    this.ctx.samples -= k;
  }

  /** Reserves `k` step slots (see {@link QueryContext.slots}); fails like the sample limit. */
  reserveSlots(k: number): void {
    const c = this.ctx;
    c.slots = (c.slots ?? 0) + k;
    if (c.slots > (c.maxSlots ?? Math.max(4 * c.maxSamples, SLOT_FLOOR))) throw new ExecutionError(TOO_MANY_SAMPLES);
  }

  /**
   * Evaluates `e`; `path` holds its ancestors (for storage hints). As in Prometheus, the samples
   * held by children are released once a node's own result exists; only that result stays counted.
   */
  async eval(e: Expr, path: readonly Expr[] = []): Promise<NodeValue> {
    this.check();
    const before = this.ctx.samples;
    const beforeSlots = this.ctx.slots ?? 0;
    const val = await this.evalNode(e, path);
    this.ctx.samples = before;
    this.ctx.slots = beforeSlots + (val.type === "vector" ? val.series.length * this.n : 0);
    if (val.type === "vector") this.account(countPoints(val.series));
    else if (val.type === "matrix") {
      let k = 0;
      for (const s of val.series) k += s.t.length;
      this.account(k);
    } else if (val.type === "scalar") this.account(this.n);
    return val;
  }

  private async evalNode(e: Expr, path: readonly Expr[]): Promise<NodeValue> {
    const sub = [...path, e];
    switch (e.kind) {
      case "number": {
        const v = new Float64Array(this.n).fill(e.value);
        return { type: "scalar", v };
      }
      case "string":
        return { type: "string", s: e.value };
      case "paren":
        return this.eval(e.expr, sub);
      case "unary": {
        const val = await this.eval(e.expr, sub);
        if (e.op === "+") return val;
        if (val.type === "scalar") return { type: "scalar", v: val.v.map((x) => -x) };
        if (val.type !== "vector") throw new ExecutionError("unary minus on non-vector");
        for (const s of val.series) {
          for (let i = 0; i < this.n; i++) s.v[i] = -s.v[i]!;
        }
        return { type: "vector", series: this.markDropName(val.series) };
      }
      case "vectorSelector":
        return { type: "vector", series: await this.vectorSelector(e, path) };
      case "matrixSelector": {
        const op = await this.matrixSelector(e, path);
        return { type: "matrix", series: this.windowAt(op, 0) };
      }
      case "subquery": {
        const op = await this.subquery(e, path);
        return { type: "matrix", series: this.windowAt(op, 0) };
      }
      case "binary":
        return evalBinary(this, e, sub);
      case "aggregate":
        return evalAggregate(this, e, sub);
      case "call":
        return evalCall(this, e, sub);
    }
  }

  /** Evaluates a node that must be a scalar; returns per-step values. */
  async evalScalar(e: Expr, path: readonly Expr[]): Promise<Float64Array> {
    const v = await this.eval(e, path);
    if (v.type !== "scalar") throw new ExecutionError(`expected scalar, got ${v.type}`);
    return v.v;
  }

  /** Evaluates a node that must be an instant vector. */
  async evalVector(e: Expr, path: readonly Expr[]): Promise<StepSeries[]> {
    const v = await this.eval(e, path);
    if (v.type !== "vector") throw new ExecutionError(`expected instant vector, got ${v.type}`);
    return v.series;
  }

  /**
   * Marks series as losing `__name__`: with delayed removal only a flag (dropped at the end), else
   * the label goes now and series that collide are merged (an overlap is an error).
   */
  markDropName(series: StepSeries[]): StepSeries[] {
    if (this.ctx.delayedNameRemoval) {
      for (const s of series) s.dropName = true;
      return series;
    }
    for (const s of series) {
      s.labels = dropMetricName(s.labels);
      s.dropName = false;
    }
    return mergeSameLabels(series);
  }

  /** `@` time of a selector or subquery, resolving start()/end(); null when absent. */
  atTime(m: { timestamp: number | null; startOrEnd: "start" | "end" | null }): number | null {
    if (m.timestamp !== null) return m.timestamp;
    if (m.startOrEnd === "start") return this.ctx.queryStart;
    if (m.startOrEnd === "end") return this.ctx.queryEnd;
    return null;
  }

  /** Storage hints for a selector evaluated by this evaluator (Prometheus' `SelectHints`). */
  hintsFor(vs: VectorSelector, path: readonly Expr[], range: number): SelectHints {
    const at = this.atTime(vs);
    const lo = (at ?? this.start) - vs.offset;
    const ahead = vs.smoothed ? this.ctx.lookbackDelta : 0;
    const hi = (at ?? this.end) - vs.offset + ahead;
    let back = range > 0 ? range : this.ctx.lookbackDelta;
    if (range > 0 && (vs.anchored || vs.smoothed)) back += this.ctx.lookbackDelta;
    let func = "";
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i]!;
      if (p.kind === "call") { func = p.func; break; }
      if (p.kind === "aggregate") { func = p.op; break; }
      if (p.kind === "binary") break;
    }
    let grouping: readonly string[] | undefined;
    let by: boolean | undefined;
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i]!;
      if (p.kind === "aggregate") { grouping = p.grouping; by = !p.without; break; }
    }
    return {
      start: lo - back,
      end: hi,
      step: this.ctx.queryStep, // as Prometheus: the query step, also inside subqueries (0 for instant queries)
      range,
      func,
      ...(grouping ? { grouping, by } : {}),
    };
  }

  /** Fetches series for a selector. `range` is the matrix range (0 for instant selectors). */
  async select(vs: VectorSelector, path: readonly Expr[], range: number): Promise<readonly FloatSeries[]> {
    const hints = this.hintsFor(vs, path, range);
    const key = `${hints.start}:${hints.end}:${hints.range}`;
    const pending = this.ctx.prefetched?.get(vs);
    let promise = pending?.get(key);
    if (promise) pending!.delete(key);
    else promise = this.ctx.querier.select(vs.matchers, hints, this.ctx.storageSignal ?? this.ctx.signal);
    const res = await promise;
    for (const w of res.warnings) this.ctx.warnings.add(w);
    this.check();
    return res.series;
  }

  /**
   * Starts the storage selects of every selector under `e` concurrently, before evaluation needs
   * them (Prometheus also fetches all selectors up front), so a query with several selectors over
   * remote stores waits for the slowest store once, not once per selector. Uses exactly the hints
   * evaluation will compute, and the results are picked up by {@link select}.
   */
  prefetch(e: Expr, parents: readonly Expr[] = []): void {
    const sub = [...parents, e];
    const start = (vs: VectorSelector, path: readonly Expr[], range: number): void => {
      const hints = this.hintsFor(vs, path, range);
      const key = `${hints.start}:${hints.end}:${hints.range}`;
      const map = (this.ctx.prefetched ??= new Map());
      let byKey = map.get(vs);
      if (!byKey) map.set(vs, (byKey = new Map()));
      if (byKey.has(key)) return;
      const p = this.ctx.querier.select(vs.matchers, hints, this.ctx.storageSignal ?? this.ctx.signal);
      p.catch(() => {}); // awaited (and reported) by select(); never an unhandled rejection
      byKey.set(key, p);
    };
    switch (e.kind) {
      case "vectorSelector":
        start(e, parents, 0);
        return;
      case "matrixSelector":
        start(e.vectorSelector, sub, e.range);
        return;
      case "subquery": {
        const child = this.subqueryEvaluator(e);
        child.prefetch(e.expr, sub);
        return;
      }
      case "call":
        if (e.func === "info") {
          this.prefetch(e.args[0]!, sub);
          return;
        }
        for (const a of e.args) this.prefetch(a, sub);
        return;
      default:
        for (const c of children(e)) this.prefetch(c, sub);
    }
  }


  /** Instant vector selector: newest non-stale sample in `(t - lookback, t]` per step. */
  async vectorSelector(vs: VectorSelector, path: readonly Expr[]): Promise<StepSeries[]> {
    const raw = await this.select(vs, path, 0);
    if (vs.smoothed) return this.smoothedSelector(vs, raw);
    const out: StepSeries[] = [];
    const at = this.atTime(vs);
    const lookback = this.ctx.lookbackDelta;
    for (const s of raw) {
      this.check();
      const { t, v } = s;
      this.reserveSlots(this.n);
      const ss = newStepSeries(s.labels, this.n);
      let j = -1; // index of the last sample with t <= refT
      let any = 0;
      for (let i = 0; i < this.n; i++) {
        const refT = (at ?? this.ts(i)) - vs.offset;
        while (j + 1 < t.length && t[j + 1]! <= refT) j++;
        if (j < 0 || t[j]! <= refT - lookback) continue;
        const x = v[j]!;
        if (x !== x && isStaleMarker(x)) continue;
        ss.v[i] = x;
        ss.p[i] = 1;
        any++;
      }
      if (any > 0) {
        this.account(any);
        out.push(ss);
      } else this.ctx.slots! -= this.n;
    }
    return out;
  }

  /** `x smoothed`: per step the value at the step time, interpolated between neighbours within ± lookback. */
  smoothedSelector(vs: VectorSelector, raw: readonly FloatSeries[]): StepSeries[] {
    const at = this.atTime(vs);
    const lb = this.ctx.lookbackDelta;
    const out: StepSeries[] = [];
    for (const s of raw) {
      const { t, v } = withoutStaleMarkers(s.t, s.v);
      this.reserveSlots(this.n);
      const ss = newStepSeries(s.labels, this.n);
      let lo = 0;
      let hi = 0;
      let any = 0;
      for (let i = 0; i < this.n; i++) {
        const dataTs = (at ?? this.ts(i)) - vs.offset;
        while (hi < t.length && t[hi]! <= dataTs + lb) hi++;
        while (lo < hi && t[lo]! <= dataTs - lb) lo++;
        const x = smoothedValue(t, v, lo, hi, dataTs);
        if (x === undefined) continue;
        ss.v[i] = x;
        ss.p[i] = 1;
        any++;
      }
      if (any > 0) {
        this.account(any);
        out.push(ss);
      } else this.ctx.slots! -= this.n;
    }
    return out;
  }

  /** Like {@link vectorSelector} but each value is the sample's own timestamp in seconds (`timestamp(x)`). */
  async vectorSelectorTimestamps(vs: VectorSelector, path: readonly Expr[]): Promise<StepSeries[]> {
    const raw = await this.select(vs, path, 0);
    const out: StepSeries[] = [];
    const at = this.atTime(vs);
    for (const s of raw) {
      const { t, v } = s;
      this.reserveSlots(this.n);
      const ss = newStepSeries(s.labels, this.n, true);
      let j = -1;
      let any = 0;
      for (let i = 0; i < this.n; i++) {
        const refT = (at ?? this.ts(i)) - vs.offset;
        while (j + 1 < t.length && t[j + 1]! <= refT) j++;
        if (j < 0 || t[j]! <= refT - this.ctx.lookbackDelta) continue;
        const x = v[j]!;
        if (x !== x && isStaleMarker(x)) continue;
        ss.v[i] = t[j]! / 1000;
        ss.p[i] = 1;
        any++;
      }
      if (any > 0) {
        this.account(any);
        out.push(ss);
      } else this.ctx.slots! -= this.n;
    }
    return out;
  }

  /** A matrix selector as a range operand (raw series, stale markers kept for the kernels to skip). */
  async matrixSelector(ms: MatrixSelector, path: readonly Expr[]): Promise<RangeOperand> {
    const vs = ms.vectorSelector;
    const raw = await this.select(vs, [...path, ms], ms.range);
    return {
      series: raw.map((s) => ({ labels: s.labels, t: s.t, v: s.v, dropName: false })),
      range: ms.range,
      offset: vs.offset,
      at: this.atTime(vs),
      anchored: vs.anchored ?? false,
      smoothed: vs.smoothed ?? false,
    };
  }

  /** Evaluates a subquery's inner expression on its own step grid (aligned to multiples of the step). */
  /** The evaluator of a subquery's inner expression: its own step grid, aligned to multiples of the step. */
  subqueryEvaluator(sq: SubqueryExpr): Evaluator {
    const at = this.atTime(sq);
    const step = sq.step > 0 ? sq.step : this.ctx.noStepSubqueryInterval;
    let parentStart = this.start;
    let parentEnd = this.end;
    if (at !== null) {
      parentStart = at;
      parentEnd = at;
    } else if (this.interval > 0 && this.n > 0) {
      parentEnd = this.start + (this.n - 1) * this.interval;
    }
    const end = parentEnd - sq.offset;
    const first = parentStart - sq.offset - sq.range;
    let start = step * Math.trunc(first / step);
    if (start <= first) start += step;
    return new Evaluator(this.ctx, start, end, step);
  }

  async subquery(sq: SubqueryExpr, path: readonly Expr[]): Promise<RangeOperand> {
    const at = this.atTime(sq);
    const child = this.subqueryEvaluator(sq);
    const val = await child.eval(sq.expr, [...path, sq]);
    if (val.type !== "vector") throw new ExecutionError("subquery is only allowed on instant vector");
    const series: RangeSeries[] = [];
    for (const s of val.series) {
      let k = 0;
      for (let i = 0; i < child.n; i++) k += s.p[i]!;
      if (k === 0) continue;
      const t = new Float64Array(k);
      const v = new Float64Array(k);
      k = 0;
      for (let i = 0; i < child.n; i++) {
        if (!s.p[i]) continue;
        t[k] = child.ts(i);
        v[k] = s.v[i]!;
        k++;
      }
      series.push({ labels: s.labels, t, v, dropName: s.dropName });
    }
    return { series, range: sq.range, offset: sq.offset, at };
  }

  /** The samples of a range operand visible at step `i` (instant query result of `x[5m]`), stale markers removed. */
  windowAt(op: RangeOperand, i: number): RangeSeries[] {
    const refT = (op.at ?? this.ts(i)) - op.offset;
    const out: RangeSeries[] = [];
    let total = 0;
    const extended = op.anchored || op.smoothed;
    const lb = this.ctx.lookbackDelta;
    const lo = refT - op.range - (extended ? lb : 0);
    const hi = refT + (op.smoothed ? lb : 0);
    for (const s of op.series) {
      // Window (lo, hi] by binary search; without stale markers it is a zero-copy view.
      const a = upperBound(s.t, lo);
      const b = upperBound(s.t, hi);
      if (b <= a) continue;
      const clean = withoutStaleMarkers(s.t.subarray(a, b), s.v.subarray(a, b));
      let t = clean.t;
      let v = clean.v;
      if (extended) {
        const ext = extendFloats(t, v, refT - op.range, refT, op.smoothed ?? false);
        t = Float64Array.from(ext.t);
        v = Float64Array.from(ext.v);
      }
      if (t.length === 0) continue;
      total += t.length;
      out.push({ labels: s.labels, t, v, dropName: s.dropName });
    }
    this.account(total);
    return out;
  }


  /** Counts the present points of `series` against the sample limit. */
  accountSeries(series: readonly StepSeries[]): void {
    this.account(countPoints(series));
  }
}


/** Index of the first element of ascending `t` that is greater than `x`. */
function upperBound(t: Float64Array, x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
