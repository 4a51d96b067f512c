/**
 * Query results and query errors of the PromQL engine. The HTTP API layer turns a {@link QueryResult}
 * into Prometheus' JSON shapes and a {@link QueryError}'s `kind` into the `errorType` field.
 */
import type { Labels } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";

/** One element of an instant vector. */
export interface Sample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/** Any result value, as Prometheus' `parser.Value`. Matrix series never contain stale markers. */
export type Value =
  | { readonly type: "scalar"; readonly t: number; readonly v: number }
  | { readonly type: "string"; readonly t: number; readonly v: string }
  | { readonly type: "vector"; readonly samples: readonly Sample[] }
  | { readonly type: "matrix"; readonly series: readonly FloatSeries[] };

/** Result of one query: the value plus non-fatal warnings (partial responses, annotations). */
export interface QueryResult {
  readonly value: Value;
  readonly warnings: string[];
  /** Informational annotations (Prometheus' "info" level), kept apart from warnings. */
  readonly infos?: string[];
}

/** Error categories, matching Prometheus' API `errorType` values. */
export type QueryErrorKind = "bad_data" | "execution" | "timeout" | "canceled" | "internal";

/** Base class of errors raised while parsing or evaluating a query. */
export class QueryError extends Error {
  override name = "QueryError";
  constructor(
    readonly kind: QueryErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** A runtime error during evaluation (Prometheus' `execution` errors). */
export class ExecutionError extends QueryError {
  override name = "ExecutionError";
  constructor(message: string) {
    super("execution", message);
  }
}

/** The query ran longer than its timeout. */
export class TimeoutError extends QueryError {
  override name = "TimeoutError";
  constructor(message = "query timed out in query execution") {
    super("timeout", message);
  }
}

/** The query was canceled by its caller's AbortSignal. */
export class CanceledError extends QueryError {
  override name = "CanceledError";
  constructor(message = "query was canceled in query execution") {
    super("canceled", message);
  }
}

/** Invalid query input detected at evaluation time (e.g. a bad range query step). */
export class BadDataError extends QueryError {
  override name = "BadDataError";
  constructor(message: string) {
    super("bad_data", message);
  }
}
