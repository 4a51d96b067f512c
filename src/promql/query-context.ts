/**
 * Types shared by the evaluator and its helpers: the per-query context (limits, deadline,
 * annotations, prefetched selects) and range-vector operands.
 */
import type { VectorSelector } from "./ast.ts";
import type { Querier, SelectResult } from "./storage.ts";
import type { RangeSeries } from "./step-series.ts";

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
  /** Selects started ahead of evaluation by `prefetchSelects` (eval-storage.ts), by selector and hint range. */
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
export const SLOT_FLOOR = 50_000_000;

/** Error text Prometheus uses when `--query.max-samples` is exceeded. */
export const TOO_MANY_SAMPLES = "query processing would load too many samples into memory in query execution";
