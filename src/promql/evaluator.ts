/**
 * The step-based evaluator: evaluates one expression node over all steps of a (sub)query at once.
 * Selectors are fetched from the querier when reached (eval-storage.ts, eval-selectors.ts), with Prometheus-style hints; range
 * windows move two indices over each series' typed arrays (left-open `(t - range, t]`), so no
 * per-sample objects are created. Operators, aggregations and functions live in their own modules
 * and are called from {@link Evaluator.eval}.
 */
import type { Expr, PosRange, SubqueryExpr } from "./ast.ts";
import { evalAggregate } from "./eval-aggregate.ts";
import { evalBinary } from "./eval-binary.ts";
import { instantSelector, matrixOperand, subqueryOperand, windowAt } from "./eval-selectors.ts";
import { evalCall } from "./functions.ts";
import { SLOT_FLOOR, TOO_MANY_SAMPLES, type QueryContext } from "./query-context.ts";
import { countPoints, dropMetricName, mergeSameLabels, type NodeValue, type StepSeries } from "./step-series.ts";
import { CanceledError, ExecutionError, TimeoutError } from "./value.ts";

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

  /** Gives back `k` samples counted by {@link account} (held data no longer needed). */
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
   * Ends one output series of {@link reserveSlots}' `n` slots: with `points` > 0 it is counted
   * and appended to `out`, otherwise its slots are given back. Returns whether it was kept.
   */
  keepIfAny(out: StepSeries[], ss: StepSeries, points: number): boolean {
    if (points === 0) {
      this.ctx.slots! -= this.n;
      return false;
    }
    this.account(points);
    out.push(ss);
    return true;
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
        return { type: "vector", series: await instantSelector(this, e, path) };
      case "matrixSelector": {
        const op = await matrixOperand(this, e, path);
        return { type: "matrix", series: windowAt(this, op, 0) };
      }
      case "subquery": {
        const op = await subqueryOperand(this, e, path);
        return { type: "matrix", series: windowAt(this, op, 0) };
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

  /** Counts the present points of `series` against the sample limit. */
  accountSeries(series: readonly StepSeries[]): void {
    this.account(countPoints(series));
  }
}
