/**
 * Synthetic HA data for the one-command demo: two regions, each scraped by two Prometheus replicas
 * that miss different stretches of time (a restart each), written as 2-hour TSDB blocks with Thanos
 * external labels `{region, replica}`. Querying through Meridian with `replica` as the replica label
 * shows the point of the whole system: one gap-free series per target, across regions.
 */
import { labelsFromRecord } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { writeBlock, type WrittenBlock } from "../tsdb/block-writer.ts";
import { createPrng as prng } from "./prng.ts";

/** Scrape interval of the demo data. */
export const DEMO_SCRAPE_MS = 15_000;
/** Block length, as Prometheus cuts them. */
export const DEMO_BLOCK_MS = 2 * 3600_000;

/** One simulated Prometheus: its external labels and when it was down. */
export interface DemoReplica {
  readonly region: string;
  readonly replica: string;
  /** [start, end) ms ranges without samples (the replica was restarting). */
  readonly gaps: readonly (readonly [number, number])[];
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** One demo series over the whole window: labels and a value per scrape (shared by a region's replicas). */
interface RegionSeries {
  readonly labels: Record<string, string>;
  readonly values: Float64Array;
}

const BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/** Scrape targets per region: 12 series each, so the demo holds a few hundred series. */
export const DEMO_INSTANCES: readonly string[] = Array.from({ length: 10 }, (_, i) => `app-${i + 1}`);

/**
 * Generates a region's series at the scrape times `times`. Values depend only on region, series and
 * time, so both HA replicas of a region scrape identical samples, as real replicas (almost) do.
 */
export function regionSeries(region: string, times: Float64Array): RegionSeries[] {
  const out: RegionSeries[] = [];
  const n = times.length;
  for (const instance of DEMO_INSTANCES) {
    const seed = hash(`${region}/${instance}`);
    const up = new Float64Array(n);
    for (let i = 0; i < n; i++) up[i] = prng(seed + times[i]! / DEMO_SCRAPE_MS)() < 0.003 ? 0 : 1;
    out.push({ labels: { __name__: "up", job: "api", instance }, values: up });
    const restartEvery = 1000 + (seed % 500); // scrapes between restarts: counters reset
    for (const [method, code, perSecond] of [["GET", "200", 40], ["GET", "500", 0.4], ["POST", "200", 12]] as const) {
      const values = new Float64Array(n);
      const rand = prng(seed ^ hash(method + code));
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (Math.floor(times[i]! / DEMO_SCRAPE_MS) % restartEvery === 0) total = 0;
        total += Math.round(perSecond * 15 * (0.5 + rand()));
        values[i] = total;
      }
      out.push({ labels: { __name__: "http_requests_total", job: "api", instance, method, code }, values });
    }
    // A classic histogram: cumulative bucket counters for histogram_quantile.
    const hrand = prng(seed ^ 0x9e3779b9);
    const counts = new Float64Array(BUCKETS.length);
    const buckets = BUCKETS.map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < 60; r++) {
        const latency = -Math.log(1 - hrand()) * 0.3; // exponential, mean 300 ms
        for (let b = 0; b < BUCKETS.length; b++) if (BUCKETS[b] === "+Inf" || latency <= Number(BUCKETS[b])) counts[b]! += 1;
      }
      for (let b = 0; b < BUCKETS.length; b++) buckets[b]![i] = counts[b]!;
    }
    BUCKETS.forEach((le, b) => out.push({ labels: { __name__: "http_request_duration_seconds_bucket", job: "api", instance, le }, values: buckets[b]! }));
    const mem = new Float64Array(n);
    for (let i = 0; i < n; i++) mem[i] = Math.round(200e6 + 50e6 * Math.sin(times[i]! / 3.6e6 + (seed % 7)) + 5e6 * prng(seed + i)());
    out.push({ labels: { __name__: "process_resident_memory_bytes", job: "api", instance }, values: mem });
  }
  return out;
}

function inGap(t: number, gaps: DemoReplica["gaps"]): boolean {
  return gaps.some(([a, b]) => t >= a && t < b);
}

/** Scrape times (ms) from `start` to before `end` on the demo's scrape grid. */
export function scrapeTimes(start: number, end: number): Float64Array {
  const first = Math.ceil(start / DEMO_SCRAPE_MS) * DEMO_SCRAPE_MS;
  const n = Math.max(0, Math.ceil((end - first) / DEMO_SCRAPE_MS));
  return Float64Array.from({ length: n }, (_, i) => first + i * DEMO_SCRAPE_MS);
}

/**
 * Writes the blocks of one replica from its region's series (see {@link regionSeries}), aligned to
 * 2 h as Prometheus cuts them, with the replica's gaps left out.
 */
export function demoBlocks(rep: DemoReplica, times: Float64Array, series: readonly RegionSeries[]): WrittenBlock[] {
  const blocks: WrittenBlock[] = [];
  if (times.length === 0) return blocks;
  const firstBlock = Math.floor(times[0]! / DEMO_BLOCK_MS) * DEMO_BLOCK_MS;
  for (let bStart = firstBlock; bStart <= times[times.length - 1]!; bStart += DEMO_BLOCK_MS) {
    const idx: number[] = [];
    for (let i = 0; i < times.length; i++) {
      const t = times[i]!;
      if (t >= bStart && t < bStart + DEMO_BLOCK_MS && !inGap(t, rep.gaps)) idx.push(i);
    }
    if (idx.length === 0) continue;
    const blockSeries: FloatSeries[] = series.map((s) => {
      const t = new Float64Array(idx.length);
      const v = new Float64Array(idx.length);
      idx.forEach((i, k) => {
        t[k] = times[i]!;
        v[k] = s.values[i]!;
      });
      return { labels: labelsFromRecord(s.labels), t, v };
    });
    blocks.push(
      writeBlock(blockSeries, {
        minTime: bStart,
        maxTime: bStart + DEMO_BLOCK_MS,
        thanos: { labels: { region: rep.region, replica: rep.replica }, source: "sidecar" },
      }),
    );
  }
  return blocks;
}

/** The demo's four replicas; each is down for a while, at different times (most in the last 6 h, so the default graph shows it). */
export function demoReplicas(now: number): DemoReplica[] {
  const h = 3600_000;
  return [
    { region: "eu-west", replica: "a", gaps: [[now - 5 * h, now - 4.6 * h]] },
    { region: "eu-west", replica: "b", gaps: [[now - 2 * h, now - 1.7 * h]] },
    { region: "us-east", replica: "a", gaps: [[now - 20 * h, now - 19.5 * h], [now - 3.5 * h, now - 3.2 * h]] },
    { region: "us-east", replica: "b", gaps: [[now - 0.7 * h, now - 0.4 * h]] },
  ];
}
