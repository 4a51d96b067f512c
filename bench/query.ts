/**
 * `npm run bench -- query [--series=N] [--hours=H] [--runs=R] [--no-prometheus]`: the querier end
 * to end, in one process, set up as in production: N counter series × 2 HA replicas scraped every
 * 15 s over H hours, in 2 h blocks in two buckets, served by two store gateways over loopback
 * native gRPC, one querier (`--query.replica-label=replica`) with its HTTP API on loopback.
 *
 * Figures:
 * - end-to-end latency (HTTP request → full JSON body) of typical dashboard queries, median and
 *   fastest of R runs after one warm-up (runs alternate with Prometheus' so both see the same load);
 * - samples/s through fan-out + WASM decode + penalty dedup (one select of every series over the
 *   whole range, both replicas' samples counted as input);
 * - RSS before the queries (data, blocks and buckets are in this process) and peak RSS while they run;
 * - when Debian's Prometheus 2.42 is installed: the same queries against Prometheus serving
 *   replica a's blocks directly, and the Meridian/Prometheus latency ratio per query.
 */
import { spawn, type ChildProcess } from "node:child_process";
import process from "node:process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord } from "../src/model/labels.ts";
import { createMatcher } from "../src/model/matcher.ts";
import type { FloatSeries } from "../src/model/series.ts";
import { createMemoryBucket } from "../src/objstore/memory-bucket.ts";
import { createEndpointSet } from "../src/query/endpoint-set.ts";
import { createQueryComponent } from "../src/query/query-component.ts";
import { createStoreClient } from "../src/query/store-client.ts";
import { createStoreQueryable } from "../src/query/store-queryable.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { createBucketStore } from "../src/store/bucket-store.ts";
import { writeBlock, type WrittenBlock } from "../src/tsdb/block-writer.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "../src/runtime/node/serve.ts";
import { createNodeTransportFactory } from "../src/runtime/node/store-transport.ts";
import { writeBlockDir } from "../src/runtime/node/write-block-dir.ts";
import { report, withPeakRss } from "./report.ts";

const SCRAPE = 15_000;
const BLOCK = 2 * 3600_000;
const MIN = 60_000;

function flag(args: string[], name: string, fallback: number): number {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  if (!a) return fallback;
  const n = Number(a.slice(name.length + 3));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${a}`);
  return n;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One replica's series: counters with a replica-specific scrape phase and a few ms of jitter,
 * one restart (a gap of a few minutes, at a different time per replica) and the occasional reset.
 */
function replicaSeries(n: number, start: number, end: number, replica: number): FloatSeries[] {
  const out: FloatSeries[] = [];
  const jobs = Math.max(1, Math.round(Math.sqrt(n / 4)));
  for (let i = 0; i < n; i++) {
    const r = rng(1000 * i + 7); // same underlying counter for both replicas
    const jr = rng(97 * i + replica); // replica-specific jitter and gap
    const gapFrom = start + jr() * (end - start);
    const gapTo = gapFrom + 2 * MIN + jr() * 8 * MIN;
    const t: number[] = [];
    const v: number[] = [];
    let c = 0;
    for (let ts = start + 1_000 + replica * 5_000; ts < end; ts += SCRAPE) {
      c = r() < 0.0005 ? 0 : c + Math.floor(r() * 100);
      const at = ts + Math.round((jr() - 0.5) * 20);
      if (at >= gapFrom && at < gapTo) continue;
      t.push(at);
      v.push(c);
    }
    out.push({
      labels: labelsFromRecord({ __name__: "http_requests_total", instance: `10.0.${Math.floor(i / 250)}.${i % 250}:9090`, job: `job-${i % jobs}` }),
      t: Float64Array.from(t),
      v: Float64Array.from(v),
    });
  }
  return out;
}

/** Cuts series into 2 h blocks (as a sidecar would ship them). */
function blocksOf(series: readonly FloatSeries[], start: number, end: number, labels: Record<string, string> | undefined): WrittenBlock[] {
  const out: WrittenBlock[] = [];
  for (let w = start; w < end; w += BLOCK) {
    const part: FloatSeries[] = [];
    for (const s of series) {
      let a = 0;
      while (a < s.t.length && s.t[a]! < w) a++;
      let b = a;
      while (b < s.t.length && s.t[b]! < w + BLOCK) b++;
      if (b > a) part.push({ labels: s.labels, t: s.t.subarray(a, b), v: s.v.subarray(a, b) });
    }
    out.push(writeBlock(part, { minTime: w, maxTime: w + BLOCK, ...(labels ? { thanos: { labels, source: "sidecar" } } : {}) }));
  }
  return out;
}

interface Query {
  readonly name: string;
  readonly path: string;
}

async function timeQuery(base: string, path: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { warnings?: string[] };
  if (body.warnings?.length) throw new Error(`${path}: unexpected warnings ${body.warnings.join("; ")}`);
  return ms;
}

/** Median and fastest of a set of timings. */
function stats(times: number[]): { median: number; min: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]! };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts Prometheus 2.42 over `tsdb` on a free loopback port; undefined when it does not come up. */
async function startPrometheus(bin: string, tsdb: string, work: string): Promise<{ url: string; child: ChildProcess } | undefined> {
  const config = join(work, "prometheus.yml");
  await writeFile(config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
  const port = await freePort();
  const child = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${tsdb}`, "--storage.tsdb.retention.time=100y", `--web.listen-address=127.0.0.1:${port}`], {
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) return { url, child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  return undefined;
}

export default async function (args: string[]): Promise<void> {
  const n = flag(args, "series", 500);
  const hours = flag(args, "hours", 24);
  const runs = flag(args, "runs", 5);
  const end = Math.floor(Date.UTC(2026, 0, 1) / BLOCK) * BLOCK;
  const start = end - hours * 3600_000;
  const wasm = await loadWasm();

  // Data and blocks.
  const replicas = [replicaSeries(n, start, end, 0), replicaSeries(n, start, end, 1)];
  const inputSamples = replicas.flat().reduce((acc, s) => acc + s.t.length, 0);
  const servers: RunningServer[] = [];
  const addresses: string[] = [];
  const blocksA: WrittenBlock[] = [];
  for (const [i, data] of replicas.entries()) {
    const blocks = blocksOf(data, start, end, { cluster: "eu", replica: i === 0 ? "a" : "b" });
    if (i === 0) blocksA.push(...blocksOf(data, start, end, undefined));
    const bucket = createMemoryBucket(`bench-${i}`);
    for (const b of blocks) {
      for (const [rel, body] of b.files) if (rel !== "meta.json") await bucket.upload(`${b.ulid}/${rel}`, body);
      await bucket.upload(`${b.ulid}/meta.json`, b.files.get("meta.json")!);
    }
    const store = createBucketStore({ bucket, metrics: createMetricsRegistry(), wasm });
    await store.sync();
    const grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store.storeApi, ready: store.ready });
    servers.push(grpc);
    addresses.push(`127.0.0.1:${grpc.port}`);
  }
  report("query_setup_series", n, "series/replica");
  report("query_setup_samples", inputSamples, "samples");

  const transportFactory = createNodeTransportFactory();
  const endpoints = createEndpointSet({
    staticEndpoints: addresses.map((address) => ({ address })),
    clientFactory: (spec) => createStoreClient(spec.address, { transportFactory }),
  });
  endpoints.start();
  await endpoints.firstProbe;
  const component = createQueryComponent({ endpoints, wasm, metrics: createMetricsRegistry(), replicaLabels: ["replica"] });
  const http = await startHttpServer({ address: "127.0.0.1:0", fetch: component.app.fetch });
  const base = `http://127.0.0.1:${http.port}`;

  const enc = encodeURIComponent;
  const s = (ms: number): number => ms / 1000;
  const dash = "sum by (job) (rate(http_requests_total[5m]))";
  const queries: Query[] = [
    { name: "range_sum_rate_6h", path: `/api/v1/query_range?query=${enc(dash)}&start=${s(end - 6 * 3600_000)}&end=${s(end)}&step=60` },
    { name: "range_sum_rate_24h", path: `/api/v1/query_range?query=${enc(dash)}&start=${s(end - Math.min(hours, 24) * 3600_000)}&end=${s(end)}&step=60` },
    { name: "range_one_job_rate_6h", path: `/api/v1/query_range?query=${enc('rate(http_requests_total{job="job-0"}[5m])')}&start=${s(end - 6 * 3600_000)}&end=${s(end)}&step=60` },
    { name: "instant_sum_rate", path: `/api/v1/query?query=${enc(dash)}&time=${s(end - MIN)}` },
    { name: "instant_topk_rate", path: `/api/v1/query?query=${enc("topk(10, rate(http_requests_total[5m]))")}&time=${s(end - MIN)}` },
    { name: "instant_selector", path: `/api/v1/query?query=${enc('http_requests_total{instance="10.0.0.1:9090"}')}&time=${s(end - MIN)}` },
  ];

  // Prometheus 2.42 over replica a's blocks, started before measuring so that runs can alternate:
  // both sides then see the same machine load (shared CI machines are noisy).
  const bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find((p) => existsSync(p));
  const work = await mkdtemp(join(tmpdir(), "meridian-bench-query-"));
  let prom: { url: string; child: ChildProcess } | undefined;
  try {
    if (bin && !args.includes("--no-prometheus")) {
      const tsdb = join(work, "tsdb");
      await mkdir(tsdb, { recursive: true });
      for (const b of blocksA) await writeBlockDir(tsdb, b);
      prom = await startPrometheus(bin, tsdb, work);
      if (!prom) console.log("bench: prometheus comparison skipped (prometheus did not become ready)");
    } else {
      console.log("bench: prometheus comparison skipped (no /usr/bin/prometheus or --no-prometheus)");
    }

    // Baseline: the process already holds the generated data and both in-memory buckets.
    report("query_rss_before_queries", process.memoryUsage.rss() / 1024 / 1024, "MiB");
    const { peakRss } = await withPeakRss(async () => {
      for (const q of queries) {
        await timeQuery(base, q.path);
        if (prom) await timeQuery(prom.url, q.path);
        const mine: number[] = [];
        const theirs: number[] = [];
        for (let i = 0; i < runs; i++) {
          mine.push(await timeQuery(base, q.path));
          if (prom) theirs.push(await timeQuery(prom.url, q.path));
        }
        const m = stats(mine);
        report(`query_${q.name}_median`, m.median, "ms");
        report(`query_${q.name}_min`, m.min, "ms");
        if (prom) {
          const p = stats(theirs);
          report(`prometheus_${q.name}_median`, p.median, "ms");
          report(`ratio_${q.name}`, m.median / p.median, "meridian/prometheus");
        }
      }
    });
    report("query_peak_rss", peakRss / 1024 / 1024, "MiB");

    // Throughput of the storage path alone: every series, whole range, both replicas → dedup.
    const queryable = createStoreQueryable({ stores: component.storeApi, wasm, request: { dedup: true, replicaLabels: ["replica"], partialResponse: true } });
    const selectAll = async (): Promise<number> => {
      const res = await queryable.querier(start, end).select(
        [createMatcher("=", "__name__", "http_requests_total")],
        { start, end, step: 60_000, range: 300_000, func: "rate" },
      );
      return res.series.reduce((acc, x) => acc + x.t.length, 0);
    };
    await selectAll();
    const t0 = performance.now();
    let out = 0;
    for (let i = 0; i < runs; i++) out = await selectAll();
    const secs = (performance.now() - t0) / 1000 / runs;
    report("query_select_dedup_throughput", inputSamples / secs, "samples/s");
    report("query_select_dedup_output", out, "samples");
  } finally {
    if (prom) {
      const exited = new Promise((r) => prom!.child.once("exit", r));
      prom.child.kill("SIGTERM");
      await exited;
    }
    endpoints.close();
    await http.close(1000);
    await Promise.all(servers.map((x) => x.close(1000)));
    await rm(work, { recursive: true, force: true });
  }
}
