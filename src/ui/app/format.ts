/** Display helpers shared by the table, graph and stores views. */
import type { Metric } from "./api-client.ts";

/** `name{a="b", c="d"}` as Prometheus' UI prints a series. */
export function formatMetric(metric: Metric): string {
  const { __name__: name = "", ...rest } = metric;
  const labels = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${JSON.stringify(rest[k])}`);
  return labels.length > 0 || name === "" ? `${name}{${labels.join(", ")}}` : name;
}

/** Parses an API sample value (`"+Inf"`, `"NaN"`, `"1e-07"`). */
export function parseSampleValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** Parses a Prometheus duration like `1h`, `30m`, `1d12h` into seconds; NaN when invalid. */
export function parseDurationSeconds(text: string): number {
  const units: Record<string, number> = { y: 31536000, w: 604800, d: 86400, h: 3600, m: 60, s: 1, ms: 0.001 };
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let total = 0;
  let pos = 0;
  const t = text.trim();
  if (t === "") return NaN;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) return NaN;
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  return total;
}

/** A step that gives about 250 points over `range` seconds, at least 1 s, rounded as Prometheus' UI. */
export function defaultStep(rangeSeconds: number): number {
  return Math.max(Math.floor(rangeSeconds / 250), 1);
}

/** Milliseconds as an ISO date for the stores page; "-" for the unbounded int64 extremes. */
export function formatTimeMs(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) >= 8.64e15) return ms < 0 ? "-∞" : "+∞";
  return new Date(ms).toISOString();
}

/** Creates an element with a class and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}
