/**
 * Decides which evals the conformance runner skips, and why. Only two reasons are allowed by
 * Meridian's conformance target: the eval needs native histograms, or it uses a feature Prometheus
 * 3.x keeps behind a feature flag (experimental functions and aggregators, `info()`, `fill`
 * modifiers, `anchored`/`smoothed`, duration expressions, type-and-unit labels, start timestamps).
 * Detection works on the script text so it does not depend on the engine under test.
 */
import type { Labels } from "../../model/labels.ts";
import { getLabel } from "../../model/labels.ts";
import { walkExpr } from "../ast.ts";
import { parseExpr } from "../parser.ts";
import type { EvalCmd, LoadCmd } from "./script.ts";

/** Skip categories, printed as headings by the CLI. */
export type SkipReason = "native histograms" | "experimental feature";

/** A skip decision with a detail such as the feature name. */
export interface Skip {
  readonly reason: SkipReason;
  readonly detail: string;
}

/** Functions behind `--enable-feature=promql-experimental-functions` in Prometheus 3.x (parser/functions.go). */
export const EXPERIMENTAL_FUNCTIONS = [
  "histogram_quantiles",
  "double_exponential_smoothing",
  "info",
  "max_of",
  "min_of",
  "mad_over_time",
  "ts_of_first_over_time",
  "ts_of_max_over_time",
  "ts_of_min_over_time",
  "ts_of_last_over_time",
  "sort_by_label",
  "sort_by_label_desc",
  "start_timestamp",
];

/** Aggregators behind the same flag (lex.go `IsExperimentalAggregator`). */
export const EXPERIMENTAL_AGGREGATORS = ["limitk", "limit_ratio"];

/** Functions that only make sense for native histograms. */
export const NATIVE_HISTOGRAM_FUNCTIONS = ["histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar"];

/** What the loads since the last `clear` contain, as far as skipping is concerned. */
export interface DataState {
  /** Metric names that have native-histogram samples (incl. NHCB names from `load_with_nhcb`). */
  histogramNames: Set<string>;
  /** Label sets of series with native-histogram samples (NHCB series without `le`). */
  histogramSeries: Labels[];
  /** Loaded data carries `__type__`/`__unit__` labels. */
  typeAndUnit: boolean;
  /** Loaded data has `@st` start timestamps. */
  startTimestamps: boolean;
}

/** An empty state (after `clear`). */
export function createDataState(): DataState {
  return { histogramNames: new Set(), histogramSeries: [], typeAndUnit: false, startTimestamps: false };
}

/** Records what a `load` block brings in. */
export function noteLoad(state: DataState, load: LoadCmd): void {
  if (load.hasStartTimestamps) state.startTimestamps = true;
  for (const s of load.series) {
    const name = s.labels.find((l) => l.name === "__name__")?.value ?? "";
    if (s.labels.some((l) => l.name === "__type__" || l.name === "__unit__")) state.typeAndUnit = true;
    if (s.values.some((v) => v.kind === "histogram")) {
      state.histogramNames.add(name);
      state.histogramSeries.push(s.labels);
    }
    if (load.withNhcb && name.endsWith("_bucket")) {
      const base = name.slice(0, -"_bucket".length);
      state.histogramNames.add(base);
      state.histogramSeries.push(s.labels.filter((l) => l.name !== "le").map((l) => (l.name === "__name__" ? { name: l.name, value: base } : l)));
    }
  }
}

/** The expression with string literal contents blanked, so names inside strings do not match. */
function stripStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

function callsAny(code: string, names: readonly string[]): string | undefined {
  for (const n of names) if (new RegExp(`(^|[^a-zA-Z0-9_:])${n}\\s*\\(`).test(code)) return n;
  return undefined;
}

/** A plain duration or number inside `[...]` or after `offset`/`:`. */
const PLAIN_DURATION = /^\s*(-?\s*[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|([0-9]+(ms|y|w|d|h|m|s))+)?\s*$/;

/** True when a range, subquery or offset uses an arithmetic duration expression. */
function hasDurationExpr(code: string): boolean {
  for (const m of code.matchAll(/\[([^\]]*)\]/g)) {
    for (const part of m[1]!.split(":")) if (!PLAIN_DURATION.test(part)) return true;
  }
  if (/\boffset\s*-?\s*\(/.test(code)) return true;
  if (/(^|[^a-zA-Z0-9_:])(step|range)\s*\(\s*\)/i.test(code)) return true;
  // start()/end() as values (not as `@ start()` / `@ end()` modifiers).
  if (/(?<!@\s*)\b(start|end)\s*\(\s*\)/i.test(code)) return true;
  return false;
}

/**
 * Whether a selector of `expr` matches a loaded native-histogram series: the metric name of the
 * first such series, "" when none, undefined when the expression does not parse (then the caller
 * falls back to name matching on the text).
 */
function selectsHistograms(expr: string, state: DataState): string | undefined {
  if (state.histogramSeries.length === 0) return "";
  let root;
  try {
    root = parseExpr(expr, { experimentalFunctions: true });
  } catch {
    return undefined;
  }
  let hit = "";
  walkExpr(root, (n) => {
    if (hit !== "" || n.kind !== "vectorSelector") return;
    for (const ls of state.histogramSeries) {
      if (n.matchers.every((m) => m.matches(getLabel(ls, m.name)))) {
        hit = getLabel(ls, "__name__") || "{}";
        return;
      }
    }
  });
  return hit;
}

/** Prometheus' `--enable-feature` names of the experimental PromQL features Meridian implements. */
export const PROMQL_FEATURES = [
  "promql-experimental-functions",
  "promql-binop-fill-modifiers",
  "promql-extended-range-selectors",
  "promql-duration-expr",
  "type-and-unit-labels",
] as const;

/** One of {@link PROMQL_FEATURES}. */
export type PromqlFeature = (typeof PROMQL_FEATURES)[number];

/**
 * Returns why `ev` must be skipped under `state`, or undefined to run it. Evals needing native
 * histograms or start timestamps are always skipped; evals needing an experimental feature run only
 * when that feature is in `features` (as Prometheus runs them only behind `--enable-feature`).
 */
export function skipReason(ev: EvalCmd, state: DataState, features: ReadonlySet<PromqlFeature> | boolean = new Set()): Skip | undefined {
  const on = typeof features === "boolean" ? new Set<PromqlFeature>(features ? ["promql-experimental-functions"] : []) : features;
  const code = stripStrings(ev.expr);
  const native = callsAny(code, NATIVE_HISTOGRAM_FUNCTIONS);
  if (native) return { reason: "native histograms", detail: `${native}()` };
  if (ev.blockText.includes("{{")) return { reason: "native histograms", detail: "histogram literal in expected result" };
  const precise = selectsHistograms(ev.expr, state);
  if (precise !== undefined) {
    if (precise) return { reason: "native histograms", detail: `selects histogram series ${precise}` };
  } else for (const name of state.histogramNames) {
    if (name === "") continue;
    const re = new RegExp(`(^|[^a-zA-Z0-9_:])${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^a-zA-Z0-9_:])`);
    if (re.test(code) || ev.expr.includes(`"${name}"`)) return { reason: "native histograms", detail: `selects histogram series ${name}` };
  }
  if (precise === undefined && state.histogramNames.size > 0 && /__name__\s*(=~|!~|!=)|\{\s*[a-zA-Z_]/.test(code) && /(^|[^a-zA-Z0-9_:])\{/.test(code)) {
    return { reason: "native histograms", detail: "selector without metric name over data with native histograms" };
  }
  if (state.startTimestamps) return { reason: "experimental feature", detail: "start timestamps (@st; not stored by Meridian)" };
  const functions = on.has("promql-experimental-functions");
  const fn = functions ? callsAny(code, ["start_timestamp"]) : callsAny(code, EXPERIMENTAL_FUNCTIONS);
  if (fn) return { reason: "experimental feature", detail: `${fn}() (promql-experimental-functions)` };
  const agg = functions ? undefined : callsAny(code, EXPERIMENTAL_AGGREGATORS) ?? (/(^|[^a-zA-Z0-9_:])(limitk|limit_ratio)\s+(by|without)\b/.test(code) ? "limitk/limit_ratio" : undefined);
  if (agg) return { reason: "experimental feature", detail: `${agg} (promql-experimental-functions)` };
  if (!on.has("promql-binop-fill-modifiers") && /(^|[^a-zA-Z0-9_:])fill(_left|_right)?\s*\(/.test(code)) return { reason: "experimental feature", detail: "fill modifiers (promql-binop-fill-modifiers)" };
  if (!on.has("promql-extended-range-selectors") && /(^|[^a-zA-Z0-9_:])(anchored|smoothed)($|[^a-zA-Z0-9_:])/.test(code)) return { reason: "experimental feature", detail: "anchored/smoothed (promql-extended-range-selectors)" };
  if (!on.has("promql-duration-expr") && hasDurationExpr(code)) return { reason: "experimental feature", detail: "duration expression (promql-duration-expr)" };
  if (!on.has("type-and-unit-labels") && (/__type__|__unit__/.test(ev.expr) || state.typeAndUnit)) return { reason: "experimental feature", detail: "__type__/__unit__ labels (type-and-unit-labels)" };
  return undefined;
}
