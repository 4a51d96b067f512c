/**
 * Histogram functions over classic (`le`-labelled bucket series) histograms: `histogram_quantile`
 * and `histogram_fraction`, grouping buckets per step by their labels without `le`, as
 * Prometheus' `resetHistograms`. The native-histogram accessors (`histogram_count` ...) find no
 * float input to work on and return nothing, as Prometheus does for float samples.
 */
import { getLabel, type Labels } from "../model/labels.ts";
import type { Call, Expr } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import { bucketFraction, bucketQuantile, type Bucket } from "./kernels/index.ts";
import { dropMetricName, labelsKey, removeLabels, SeriesCollector, setLabel, type StepSeries } from "./step-series.ts";
import { formatGoFloat } from "./format-float.ts";

const LE = new Set(["le"]);

/** Parses an `le` value with Go's ParseFloat rules; null when malformed. */
function parseLe(t: string): number | null {
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$/.test(t)) return null;
  return Number(t);
}

/** Evaluates histogram_quantile / histogram_fraction / histogram_* accessors on float input. */
export async function evalHistogramFunc(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<StepSeries[]> {
  const name = e.func;
  if (name !== "histogram_quantile" && name !== "histogram_fraction" && name !== "histogram_quantiles") {
    await ev.evalVector(e.args[0]!, path);
    return [];
  }
  const multi = name === "histogram_quantiles";
  const scalars: Float64Array[] = [];
  const scalarArgs = multi ? e.args.slice(2) : e.args.slice(0, name === "histogram_quantile" ? 1 : 2);
  for (const a of scalarArgs) scalars.push(await ev.evalScalar(a, path));
  const vecIdx = multi ? 0 : scalarArgs.length;
  const quantileLabel = multi && e.args[1]!.kind === "string" ? e.args[1]!.value : "";
  const vec = await ev.evalVector(e.args[vecIdx]!, path);
  // Per series: bucket bound and group (labels without le).
  const groupOf = new Int32Array(vec.length).fill(-1);
  const bounds = new Float64Array(vec.length);
  const groupLabels: Labels[] = [];
  const groupDrop: boolean[] = [];
  const byKey = new Map<string, number>();
  vec.forEach((s, k) => {
    const le = getLabel(s.labels, "le");
    const ub = parseLe(le);
    if (ub === null) {
      const metric = getLabel(s.labels, "__name__");
      ev.warn(
        `bucket label "le" is missing or has a malformed value of ${JSON.stringify(le)}` +
          (metric !== "" && ev.ctx.delayedNameRemoval ? ` for metric name ${JSON.stringify(metric)}` : ""),
        e.args[vecIdx]!.pos,
      );
      return;
    }
    const gl = removeLabels(s.labels, LE);
    const key = labelsKey(gl);
    let g = byKey.get(key);
    if (g === undefined) {
      g = groupLabels.length;
      byKey.set(key, g);
      groupLabels.push(gl);
      groupDrop.push(true);
    }
    groupOf[k] = g;
    bounds[k] = ub;
  });
  if (name !== "histogram_fraction") {
    scalars.forEach((phi, j) => {
      for (let i = 0; i < ev.n; i++) {
        const q = phi[i]!;
        if (q !== q || q < 0 || q > 1) {
          ev.warn(`quantile value should be between 0 and 1, got ${formatGoFloat(q)}`, scalarArgs[j]!.pos);
          break;
        }
      }
    });
  }
  const out = new SeriesCollector(ev.n);
  const G = groupLabels.length;
  const outIdx = new Int32Array(G).fill(-1);
  for (let i = 0; i < ev.n; i++) {
    if (i % 16 === 0) ev.check();
    const buckets: Bucket[][] = [];
    for (let k = 0; k < vec.length; k++) {
      const s = vec[k]!;
      const g = groupOf[k]!;
      if (g < 0 || !s.p[i]) continue;
      (buckets[g] ??= []).push({ upperBound: bounds[k]!, count: s.v[i]! });
    }
    const qCount = name === "histogram_fraction" ? 1 : scalars.length;
    for (let j = 0; j < qCount; j++) {
      for (let g = 0; g < G; g++) {
        const b = buckets[g];
        if (!b || b.length === 0) continue;
        let v: number;
        if (name === "histogram_fraction") v = bucketFraction(scalars[0]![i]!, scalars[1]![i]!, b);
        else {
          const q = scalars[j]![i]!;
          const r = bucketQuantile(q, b);
          v = r.value;
          if (r.forcedMonotonicity) {
            const metric = getLabel(groupLabels[g]!, "__name__");
            ev.info(
              "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)" +
                (metric !== "" ? ` for metric name ${JSON.stringify(metric)}` : "") +
                `, from buckets ${formatGoFloat(r.minBucket)} to ${formatGoFloat(r.maxBucket)}, with a max diff of ${r.maxDiff.toPrecision(2)}`,
              e.args[vecIdx]!.pos,
            );
          }
        }
        let labels = ev.ctx.delayedNameRemoval ? groupLabels[g]! : dropMetricName(groupLabels[g]!);
        if (multi) {
          labels = setLabel(labels, quantileLabel, formatOpenMetricsFloat(scalars[j]![i]!));
          out.add(labels, ev.ctx.delayedNameRemoval, i, v);
          continue;
        }
        if (outIdx[g]! < 0) outIdx[g] = out.index(labels, groupDrop[g]! && ev.ctx.delayedNameRemoval);
        out.set(outIdx[g]!, i, v);
      }
    }
  }
  return out.nonEmpty();
}

/** Prometheus' `labels.FormatOpenMetricsFloat`: like `%g` but whole numbers get ".0". */
export function formatOpenMetricsFloat(f: number): string {
  const s = formatGoFloat(f);
  if (f !== f || f === Infinity || f === -Infinity) return s;
  return /[e.]/.test(s) ? s : `${s}.0`;
}
