/**
 * The graph of a range query with uPlot: every result series on one time axis aligned to the
 * query's step grid, gaps (missing steps, NaN, ±Inf) left open, a legend with each series' labels.
 */
import uPlot from "uplot";
import type { MatrixSeries } from "./api-client.ts";
import { el, formatMetric, parseSampleValue } from "./format.ts";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Aligns series to the grid start..end by step (seconds): uPlot's column data, null where absent. */
export function alignToGrid(series: readonly MatrixSeries[], start: number, end: number, step: number): uPlot.AlignedData {
  const n = Math.floor((end - start) / step) + 1;
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  const columns: (number | null)[][] = series.map((s) => {
    const col: (number | null)[] = new Array(n).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t - start) / step);
      const num = parseSampleValue(v);
      if (i >= 0 && i < n && Number.isFinite(num)) col[i] = num;
    }
    return col;
  });
  return [Array.from(xs), ...columns] as uPlot.AlignedData;
}

/** Renders the graph into `host` (replacing its content); returns the plot so callers can destroy it. */
export function renderGraph(host: HTMLElement, series: readonly MatrixSeries[], start: number, end: number, step: number): uPlot | undefined {
  host.replaceChildren();
  if (series.length === 0) {
    host.append(el("div", "empty", "Empty query result"));
    return undefined;
  }
  const width = Math.max(host.clientWidth || 800, 300);
  const opts: uPlot.Options = {
    width,
    height: 360,
    scales: { x: { time: true } },
    legend: { live: true },
    series: [
      {},
      ...series.map((s, i) => ({
        label: formatMetric(s.metric),
        stroke: PALETTE[i % PALETTE.length]!,
        width: 1.5,
        spanGaps: false,
      })),
    ],
    axes: [{}, { size: 70 }],
  };
  const plot = new uPlot(opts, alignToGrid(series, start, end, step), host);
  host.dataset["seriesCount"] = String(series.length);
  return plot;
}
