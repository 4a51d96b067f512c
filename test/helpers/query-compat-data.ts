/**
 * Data for the querier compatibility suites: counters (with a reset), a classic histogram, gauges
 * and a series of special floats, scraped every 15 s with timestamps deliberately OFF the query
 * grid (+1.234 s), so Prometheus 2.x (closed windows) and 3.x (left-open windows) agree on every
 * window and lookback used by queries on whole-minute grids.
 */
import { labelsFromRecord } from "../../src/model/labels.ts";
import { STALE_NAN, type FloatSeries } from "../../src/model/series.ts";
import { createPrng as seeded } from "../../src/demo/prng.ts";

/** Start of the data (ms); a whole hour, so query grids built from it are whole minutes. */
export const COMPAT_T0 = 1_700_002_800_000;
/** Scrape interval (ms). */
export const COMPAT_SCRAPE = 15_000;
/** Offset of every sample from the minute grid (ms). */
export const COMPAT_OFFSET = 1_234;
/** Hours of data. */
export const COMPAT_HOURS = 4;

/** The special values, one every 10 minutes in `compat_special`, then repeated. */
export const SPECIAL_VALUES = [NaN, Infinity, -Infinity, -0, 1e-7, 9.99e-7, 1e-6, 1e21, 1.5e300, 5e-324, 0.30000000000000004, 123456789012345680000, -1e-300, 42];

function build(labels: Record<string, string>, value: (i: number, t: number) => number, every = COMPAT_SCRAPE): FloatSeries {
  const t: number[] = [];
  const v: number[] = [];
  const end = COMPAT_T0 + COMPAT_HOURS * 3600_000;
  for (let ts = COMPAT_T0 + COMPAT_OFFSET, i = 0; ts < end; ts += every, i++) {
    t.push(ts);
    v.push(value(i, ts));
  }
  return { labels: labelsFromRecord(labels), t: Float64Array.from(t), v: Float64Array.from(v) };
}

/** The compatibility data set (deterministic). */
export function makeCompatSeries(): FloatSeries[] {
  const r = seeded(20261125);
  const out: FloatSeries[] = [];
  for (const job of ["api", "web"]) {
    for (const instance of ["10.0.0.1:9090", "10.0.0.2:9090"]) {
      for (const code of ["200", "500"]) {
        let c = 0;
        const resetAt = job === "api" && instance.startsWith("10.0.0.2") && code === "200" ? 400 : -1;
        out.push(build({ __name__: "http_requests_total", code, instance, job }, (i) => {
          c = i === resetAt ? 7 : c + Math.floor(r() * (code === "200" ? 50 : 5));
          return c;
        }));
      }
    }
  }
  // A classic histogram: cumulative buckets that grow together.
  const les = ["0.1", "0.5", "1", "+Inf"];
  const counts = les.map(() => 0);
  const rows: number[][] = [];
  const n = (COMPAT_HOURS * 3600_000) / COMPAT_SCRAPE;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let b = 0; b < les.length; b++) {
      acc += Math.floor(r() * (10 - 2 * b));
      counts[b] = Math.max(counts[b]!, 0) + acc;
    }
    rows.push([...counts]);
  }
  les.forEach((le, b) => out.push(build({ __name__: "http_request_duration_seconds_bucket", job: "api", le }, (i) => rows[i]![b]!)));
  for (const instance of ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"]) {
    out.push(build({ __name__: "node_load1", instance, job: "node" }, () => Math.round(r() * 400) / 100));
  }
  out.push(build({ __name__: "compat_special", kind: "floats" }, (i) => SPECIAL_VALUES[Math.floor(i / 40) % SPECIAL_VALUES.length]!));
  out.push(build({ __name__: "compat_tiny", kind: "tiny" }, (i) => (i + 1) * 1e-9));
  out.push(build({ __name__: "compat_huge", kind: "huge" }, (i) => (i + 1) * 1e22));
  // Stale markers (only a block writer can store them; PromQL hides them): one in the middle
  // after which the target comes back 5 minutes later, one ending the series at 2 h.
  const stale = build({ __name__: "compat_stale", kind: "stale" }, (i) => i % 7);
  const keep = [...stale.t.keys()].filter((i) => i <= 240 || (i >= 260 && i <= 480));
  const t = Float64Array.from(keep.map((i) => stale.t[i]!));
  const v = Float64Array.from(keep.map((i) => stale.v[i]!));
  // Direct typed-array stores keep the stale NaN's bits (plain JS arrays may canonicalise NaN).
  v[keep.indexOf(240)] = STALE_NAN;
  v[keep.indexOf(480)] = STALE_NAN;
  out.push({ labels: stale.labels, t, v });
  return out;
}

/** The same series with the samples in [from, to) removed (a replica that was down for a while). */
export function withoutWindow(series: readonly FloatSeries[], from: number, to: number): FloatSeries[] {
  return series.map((s) => {
    const keep = [...s.t.keys()].filter((i) => s.t[i]! < from || s.t[i]! >= to);
    const t = new Float64Array(keep.length);
    const v = new Float64Array(keep.length);
    // Element-wise typed-array copies keep NaN payloads (stale markers); a plain JS array would not.
    keep.forEach((k, j) => {
      t[j] = s.t[k]!;
      v[j] = s.v[k]!;
    });
    return { labels: s.labels, t, v };
  });
}
