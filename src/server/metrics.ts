/**
 * A small Prometheus metrics registry rendering the text exposition format 0.0.4. Runtime-neutral
 * (no process metrics here; a runtime adapter can add them through {@link MetricsRegistry.onCollect}),
 * so the same component code exposes `/metrics` on Node, Deno and Workers.
 */

/** Label values of one series of a metric, keyed by label name. */
export type LabelValues = Readonly<Record<string, string>>;

/** A monotonically increasing counter. */
export interface Counter {
  /** Adds `n` (default 1, must be ≥ 0) to the series with `labelValues`. */
  inc(labelValues?: LabelValues, n?: number): void;
  /** Current value of one series (0 when never incremented); handy in tests and status pages. */
  get(labelValues?: LabelValues): number;
}

/** A value that can go up and down. */
export interface Gauge {
  /** Sets the series with `labelValues` to `v`. */
  set(v: number, labelValues?: LabelValues): void;
  /** Adds `n` (default 1). */
  inc(labelValues?: LabelValues, n?: number): void;
  /** Subtracts `n` (default 1). */
  dec(labelValues?: LabelValues, n?: number): void;
  /** Current value of one series (0 when never set). */
  get(labelValues?: LabelValues): number;
}

/** A cumulative histogram with fixed upper bounds. */
export interface Histogram {
  /** Records one observation `v` in the series with `labelValues`. */
  observe(v: number, labelValues?: LabelValues): void;
}

/** Registry of metrics rendered together on `/metrics`. */
export interface MetricsRegistry {
  /** Registers (or returns the identical, already registered) counter. */
  counter(name: string, help: string, labelNames?: readonly string[]): Counter;
  /** Registers (or returns the identical, already registered) gauge. */
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge;
  /** Registers (or returns the identical, already registered) histogram; `buckets` are upper bounds. */
  histogram(name: string, help: string, buckets?: readonly number[], labelNames?: readonly string[]): Histogram;
  /** Adds a hook run before each render, e.g. to sample process memory into a gauge. */
  onCollect(fn: () => void): void;
  /** The whole registry in Prometheus text format 0.0.4, families sorted by name. */
  render(): string;
}

/** Content-Type of {@link MetricsRegistry.render}'s output. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Prometheus client default buckets (seconds). */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Kind = "counter" | "gauge" | "histogram";

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  /** Series keyed by their rendered label pairs. */
  readonly series: Map<string, SeriesState>;
  readonly api: Counter | Gauge | Histogram;
}

interface SeriesState {
  readonly labels: string; // rendered `a="x",b="y"` (no braces), "" when unlabeled
  value: number; // counter/gauge value, histogram sum
  counts?: Float64Array; // histogram per-bucket (non-cumulative) counts, last = +Inf
  count?: number;
}

/** Escapes a HELP text: backslash and newline. */
function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** Formats a sample value as the text format expects (`NaN`, `+Inf`, `-Inf`). */
export function formatMetricValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function renderLabels(names: readonly string[], values: LabelValues | undefined, metric: string): string {
  if (names.length === 0) {
    if (values && Object.keys(values).length > 0) {
      throw new Error(`metric ${metric}: unexpected label values ${JSON.stringify(values)}`);
    }
    return "";
  }
  const given = values ?? {};
  for (const k of Object.keys(given)) {
    if (!names.includes(k)) throw new Error(`metric ${metric}: unknown label ${JSON.stringify(k)}`);
  }
  // Absent labels render as empty values so every series of a family has the same label names.
  return names.map((n) => `${n}="${escapeLabelValue(given[n] ?? "")}"`).join(",");
}

function joinLabels(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return `${a},${b}`;
}

/** Creates an empty registry. Each component creates one and serves its `render()` on `/metrics`. */
export function createMetricsRegistry(): MetricsRegistry {
  const families = new Map<string, Family>();
  const collectors: (() => void)[] = [];

  function register(kind: Kind, name: string, help: string, labelNames: readonly string[], buckets: readonly number[], make: (f: Omit<Family, "api">) => Family["api"]): Family["api"] {
    const existing = families.get(name);
    if (existing) {
      const same = existing.kind === kind && existing.labelNames.join(",") === labelNames.join(",") && existing.buckets.join(",") === buckets.join(",");
      if (!same) throw new Error(`metric ${name} already registered with a different type, labels or buckets`);
      return existing.api;
    }
    if (!METRIC_NAME_RE.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    for (const l of labelNames) {
      if (!LABEL_NAME_RE.test(l) || l.startsWith("__")) throw new Error(`metric ${name}: invalid label name ${JSON.stringify(l)}`);
      if (kind === "histogram" && l === "le") throw new Error(`metric ${name}: histogram cannot use label "le"`);
    }
    const base = { name, help, kind, labelNames: [...labelNames], buckets, series: new Map<string, SeriesState>() };
    const family: Family = { ...base, api: make(base) };
    families.set(name, family);
    return family.api;
  }

  function seriesOf(f: Omit<Family, "api">, values: LabelValues | undefined): SeriesState {
    const key = renderLabels(f.labelNames, values, f.name);
    let s = f.series.get(key);
    if (!s) {
      s = { labels: key, value: 0 };
      if (f.kind === "histogram") {
        s.counts = new Float64Array(f.buckets.length + 1);
        s.count = 0;
      }
      f.series.set(key, s);
    }
    return s;
  }

  function peek(f: Omit<Family, "api">, values: LabelValues | undefined): number {
    return f.series.get(renderLabels(f.labelNames, values, f.name))?.value ?? 0;
  }

  return {
    counter(name, help, labelNames = []) {
      return register("counter", name, help, labelNames, [], (f) => ({
        inc(values, n = 1) {
          if (!(n >= 0)) throw new Error(`counter ${name}: cannot add ${n}`);
          seriesOf(f, values).value += n;
        },
        get: (values) => peek(f, values),
      })) as Counter;
    },
    gauge(name, help, labelNames = []) {
      return register("gauge", name, help, labelNames, [], (f) => ({
        set(v, values) { seriesOf(f, values).value = v; },
        inc(values, n = 1) { seriesOf(f, values).value += n; },
        dec(values, n = 1) { seriesOf(f, values).value -= n; },
        get: (values) => peek(f, values),
      })) as Gauge;
    },
    histogram(name, help, buckets = DEFAULT_BUCKETS, labelNames = []) {
      const sorted = [...buckets].filter((b) => b !== Infinity);
      for (let i = 1; i < sorted.length; i++) {
        if (!(sorted[i]! > sorted[i - 1]!)) throw new Error(`histogram ${name}: buckets must be strictly increasing`);
      }
      return register("histogram", name, help, labelNames, sorted, (f) => ({
        observe(v, values) {
          const s = seriesOf(f, values);
          let i = 0;
          while (i < sorted.length && v > sorted[i]!) i++;
          s.counts![i]!++;
          s.count!++;
          s.value += v;
        },
      })) as Histogram;
    },
    onCollect(fn) {
      collectors.push(fn);
    },
    render() {
      for (const fn of collectors) fn();
      const out: string[] = [];
      const names = [...families.keys()].sort();
      for (const name of names) {
        const f = families.get(name)!;
        out.push(`# HELP ${name} ${escapeHelp(f.help)}`);
        out.push(`# TYPE ${name} ${f.kind}`);
        // Unlabeled metrics always have their one series (a 0 is meaningful for rate()).
        if (f.labelNames.length === 0 && f.series.size === 0) seriesOf(f, undefined);
        const keys = [...f.series.keys()].sort();
        for (const key of keys) {
          const s = f.series.get(key)!;
          if (f.kind !== "histogram") {
            out.push(`${name}${s.labels === "" ? "" : `{${s.labels}}`} ${formatMetricValue(s.value)}`);
            continue;
          }
          let cum = 0;
          for (let i = 0; i <= f.buckets.length; i++) {
            cum += s.counts![i]!;
            const le = i < f.buckets.length ? formatMetricValue(f.buckets[i]!) : "+Inf";
            out.push(`${name}_bucket{${joinLabels(s.labels, `le="${le}"`)}} ${cum}`);
          }
          const braces = s.labels === "" ? "" : `{${s.labels}}`;
          out.push(`${name}_sum${braces} ${formatMetricValue(s.value)}`);
          out.push(`${name}_count${braces} ${s.count!}`);
        }
      }
      return out.length === 0 ? "" : out.join("\n") + "\n";
    },
  };
}
