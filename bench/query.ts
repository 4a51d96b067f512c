/**
 * `npm run bench -- query [--series=N] [--hours=H] [--runs=R] [--warmup=W] [--warmup-rounds=K] [--no-prometheus]
 * [--store-node-flag=F]... [--query-node-flag=F]...`:
 * the querier end to end, deployed as in production: N counter series × 2 HA replicas scraped
 * every 15 s over H hours, in 2 h blocks written to two filesystem buckets, each served by a
 * `meridian store` process, and one `meridian query` process (`--query.replica-label=replica`)
 * dialling both over loopback native gRPC. All three are started with the real CLI from dist/, so
 * the stores' work overlaps with the querier's on separate cores, as it does in production; this
 * benchmark process only generates the data and sends the HTTP requests.
 *
 * Figures:
 * - end-to-end latency (HTTP request → full JSON body) of typical dashboard queries, median and
 *   fastest of R runs (default 5), after K rounds (default 3) of the whole query set and then W
 *   (default 2) runs of the query itself, on both sides, as warm-up: production processes are
 *   long-lived, and cold ones spend most of a query in V8's JIT (6h range query: ~1.5 s cold,
 *   ~0.27 s warm on a busy 2-core machine);
 *   runs alternate with Prometheus' (and which side goes first alternates too) so both see the
 *   same machine load;
 * - when Debian's Prometheus 2.42 is installed, the same queries against two Prometheus servers
 *   and the Meridian/Prometheus latency ratio per query against each:
 *   - `ratio_same_blocks_*`: Prometheus serving the same data Meridian serves, both replicas'
 *     samples, as the "same blocks" asks. Prometheus has no replica dedup: its TSDB holds
 *     the two replicas' blocks merged per series, as its own vertical compaction of the overlapping
 *     blocks leaves them (written merged up front, so no compaction runs mid-measurement). Both
 *     sides decode every sample of both replicas; Prometheus' answers are then not deduplicated;
 *   - `ratio_*`: Prometheus serving replica a's blocks only: the same answers, half the data (what
 *     a user querying one Prometheus of the HA pair directly would see);
 * - peak resident memory (`VmHWM`, over the process' life, sync included) of the querier, each
 *   store and Prometheus, and the querier's resident memory before the queries;
 * - samples/s through fan-out + WASM decode + penalty dedup: one select of every series over the
 *   whole range, both replicas' samples counted as input, run in THIS process against the two
 *   store processes (so it is the querier's storage path without PromQL and HTTP);
 * - CPU time (user + system, from /proc) per query of the querier, of both stores together and of
 *   Prometheus: less sensitive to a busy machine than latency, and shows where Meridian's time goes;
 * - the 1-minute load average before and after, since the machine may be shared.
 */
import process from "node:process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labelsFromRecord } from "../src/model/labels.ts";
import { createMatcher } from "../src/model/matcher.ts";
import type { FloatSeries } from "../src/model/series.ts";
import { createEndpointSet } from "../src/query/endpoint-set.ts";
import { createQueryComponent } from "../src/query/query-component.ts";
import { createStoreClient } from "../src/query/store-client.ts";
import { createStoreQueryable } from "../src/query/store-queryable.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { writeBlock, type WrittenBlock } from "../src/tsdb/block-writer.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { createNodeTransportFactory } from "../src/runtime/node/store-transport.ts";
import { writeBlockDir } from "../src/runtime/node/write-block-dir.ts";
import { cliPath, freePort, loadAverage, procCpuMs, procMemory, removeOnExit, startChild, stopAll, type Child } from "./helpers-procs.ts";
import { numberFlag } from "./flags.ts";
import { report } from "./report.ts";
import { createPrng as rng } from "../src/demo/prng.ts";

const SCRAPE = 15_000;
const BLOCK = 2 * 3600_000;
const MIN = 60_000;


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

/**
 * Both replicas' samples of each series in one series (time-sorted, equal timestamps once): what
 * Prometheus' vertical compaction makes of the replicas' overlapping blocks.
 */
function mergeReplicas(a: readonly FloatSeries[], b: readonly FloatSeries[]): FloatSeries[] {
  return a.map((x, i) => {
    const y = b[i]!;
    const t = new Float64Array(x.t.length + y.t.length);
    const v = new Float64Array(t.length);
    let i1 = 0;
    let i2 = 0;
    let n = 0;
    while (i1 < x.t.length || i2 < y.t.length) {
      const takeX = i2 >= y.t.length || (i1 < x.t.length && x.t[i1]! <= y.t[i2]!);
      const ts = takeX ? x.t[i1]! : y.t[i2]!;
      const val = takeX ? x.v[i1++]! : y.v[i2++]!;
      if (n > 0 && t[n - 1] === ts) continue;
      t[n] = ts;
      v[n++] = val;
    }
    return { labels: x.labels, t: t.subarray(0, n), v: v.subarray(0, n) };
  });
}

interface Query {
  readonly name: string;
  readonly path: string;
}

interface Timed {
  readonly ms: number;
  /** Number of series (vector/matrix) in the result, to check both sides answer alike. */
  readonly series: number;
}

async function timeQuery(base: string, path: string): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${base}${path}: ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { warnings?: string[]; data?: { result?: unknown } };
  if (body.warnings?.length) throw new Error(`${base}${path}: unexpected warnings ${body.warnings.join("; ")}`);
  const result = body.data?.result;
  return { ms, series: Array.isArray(result) ? result.length : 1 };
}

/** Median and fastest of a set of timings. */
function stats(times: number[]): { median: number; min: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]! };
}

/** `meridian store` over one filesystem bucket, on free loopback ports. */
async function startStore(name: string, bucketDir: string, dataDir: string, nodeFlags: string[]): Promise<{ child: Child; grpc: string }> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const objstore = `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`;
  const child = await startChild(name, process.execPath, [
    ...nodeFlags, cliPath, "store", `--objstore.config=${objstore}`, `--data-dir=${dataDir}`,
    `--http-address=127.0.0.1:${httpPort}`, `--grpc-address=127.0.0.1:${grpcPort}`, "--log.level=warn",
  ], `http://127.0.0.1:${httpPort}`);
  return { child, grpc: `127.0.0.1:${grpcPort}` };
}

/** `meridian query` over the given gRPC endpoints; ready once it has probed them. */
async function startQuerier(endpoints: readonly string[], nodeFlags: string[]): Promise<Child> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${httpPort}`;
  const child = await startChild("query", process.execPath, [
    ...nodeFlags, cliPath, "query", ...endpoints.map((e) => `--endpoint=${e}`), "--query.replica-label=replica",
    `--http-address=127.0.0.1:${httpPort}`, `--grpc-address=127.0.0.1:${grpcPort}`, "--log.level=warn",
  ], url);
  // Both stores must be healthy, or the figures would be those of a half-empty query.
  const res = await fetch(`${url}/api/v1/stores`);
  const body = (await res.json()) as { data?: Record<string, { lastError?: string | null }[]> };
  const healthy = Object.values(body.data ?? {}).flat().filter((s) => !s.lastError).length;
  if (healthy !== endpoints.length) {
    await child.stop();
    throw new Error(`querier sees ${healthy} healthy stores, want ${endpoints.length}: ${JSON.stringify(body.data)}`);
  }
  return child;
}

/** Prometheus 2.42 over `tsdb` on a free loopback port; undefined when it does not come up. */
async function startPrometheus(name: string, bin: string, tsdb: string, work: string): Promise<Child | undefined> {
  await mkdir(work, { recursive: true });
  const config = join(work, "prometheus.yml");
  await writeFile(config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
  const port = await freePort();
  try {
    return await startChild(name, bin, [
      `--config.file=${config}`, `--storage.tsdb.path=${tsdb}`, "--storage.tsdb.retention.time=100y",
      `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn",
    ], `http://127.0.0.1:${port}`, 60_000);
  } catch (e) {
    console.log(`bench: prometheus comparison skipped (${(e as Error).message})`);
    return undefined;
  }
}

export default async function (args: string[]): Promise<void> {
  const n = numberFlag(args, "series", 500);
  const hours = numberFlag(args, "hours", 24);
  const runs = numberFlag(args, "runs", 5);
  const warmup = numberFlag(args, "warmup", 2);
  const warmupRounds = Math.floor(numberFlag(args, "warmup-rounds", 3));
  // Extra Node flags for the child processes, e.g. `--query-node-flag=--cpu-prof` for profiling.
  const nodeFlags = (what: "store" | "query"): string[] =>
    args.filter((a) => a.startsWith(`--${what}-node-flag=`)).map((a) => a.slice(what.length + 13));
  const end = Math.floor(Date.UTC(2026, 0, 1) / BLOCK) * BLOCK;
  const start = end - hours * 3600_000;
  report("query_loadavg_1m_start", loadAverage()[0], "load");

  const work = await mkdtemp(join(tmpdir(), "meridian-bench-query-"));
  const forget = removeOnExit(work);
  const children: (Child | undefined)[] = [];
  let endpoints: ReturnType<typeof createEndpointSet> | undefined;
  try {
    // Data and blocks: replica a and b each in a bucket directory of their own (with Thanos
    // external labels, as a sidecar ships them); for Prometheus, replica a's blocks again, and
    // both replicas merged (see the file comment).
    const replicas = [replicaSeries(n, start, end, 0), replicaSeries(n, start, end, 1)];
    const inputSamples = replicas.flat().reduce((acc, s) => acc + s.t.length, 0);
    const bin = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find((p) => existsSync(p));
    const withProm = !!bin && !args.includes("--no-prometheus");
    const tsdb = join(work, "tsdb");
    const tsdbBoth = join(work, "tsdb-both");
    for (const [i, data] of replicas.entries()) {
      const bucket = join(work, `bucket-${i}`);
      await mkdir(bucket, { recursive: true });
      for (const b of blocksOf(data, start, end, { cluster: "eu", replica: i === 0 ? "a" : "b" })) await writeBlockDir(bucket, b);
      if (i === 0 && withProm) {
        await mkdir(tsdb, { recursive: true });
        for (const b of blocksOf(data, start, end, undefined)) await writeBlockDir(tsdb, b);
      }
    }
    if (withProm) {
      await mkdir(tsdbBoth, { recursive: true });
      for (const b of blocksOf(mergeReplicas(replicas[0]!, replicas[1]!), start, end, undefined)) await writeBlockDir(tsdbBoth, b);
    }
    replicas.length = 0; // the bench process need not hold the data while it measures
    report("query_setup_series", n, "series/replica");
    report("query_setup_samples", inputSamples, "samples");

    // The deployment: two stores, then the querier (so its first probe finds both ready).
    const stores = await Promise.all([0, 1].map(async (i) => {
      const dataDir = join(work, `store-data-${i}`);
      await mkdir(dataDir, { recursive: true });
      const s = await startStore(`store-${i}`, join(work, `bucket-${i}`), dataDir, nodeFlags("store"));
      children.push(s.child);
      return s;
    }));
    const storeChildren = stores.map((st) => st.child);
    const querier = await startQuerier(stores.map((st) => st.grpc), nodeFlags("query"));
    children.push(querier);
    // Prometheus 2.42 over replica a's blocks and over both replicas' samples, started before
    // measuring so that runs can alternate: all sides then see the same machine load (shared
    // machines are noisy).
    let prom: Child | undefined;
    let promBoth: Child | undefined;
    if (withProm) {
      prom = await startPrometheus("prometheus", bin!, tsdb, join(work, "prom-one"));
      children.push(prom);
      promBoth = await startPrometheus("prometheus-same-blocks", bin!, tsdbBoth, join(work, "prom-both"));
      children.push(promBoth);
    } else {
      console.log("bench: prometheus comparison skipped (no /usr/bin/prometheus or --no-prometheus)");
    }

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

    report("query_querier_rss_before_queries", procMemory(querier.proc.pid!, "VmRSS") / 1024 / 1024, "MiB");
    // Long-running processes in production are warm: run the whole query set a few rounds first on
    // both sides (every code path of all three Node processes JIT-compiled, caches filled), then
    // per query `warmup` more runs right before its measured ones.
    // The Prometheus servers compared against: figure-name prefix, server.
    const refs: [string, Child][] = [];
    if (prom) refs.push(["", prom]);
    if (promBoth) refs.push(["same_blocks_", promBoth]);
    for (let round = 0; round < warmupRounds; round++) {
      for (const q of queries) {
        await timeQuery(querier.url, q.path);
        for (const [, p] of refs) await timeQuery(p.url, q.path);
      }
    }
    for (const q of queries) {
      for (let i = 0; i < warmup; i++) {
        const mine = await timeQuery(querier.url, q.path);
        for (const [key, p] of refs) {
          const theirs = await timeQuery(p.url, q.path);
          if (i === 0 && mine.series !== theirs.series) {
            console.log(`bench-warning: ${q.name}: Meridian returned ${mine.series} series, Prometheus (${key || "one replica"}) ${theirs.series}`);
          }
        }
      }
      const mine: number[] = [];
      const theirs = refs.map(() => [] as number[]);
      const cpu = { querier: 0, stores: 0, refs: refs.map(() => 0) };
      const timePrometheus = async (r: number): Promise<void> => {
        const p = refs[r]![1];
        const c0 = procCpuMs(p.proc.pid!);
        theirs[r]!.push((await timeQuery(p.url, q.path)).ms);
        cpu.refs[r]! += procCpuMs(p.proc.pid!) - c0;
      };
      for (let i = 0; i < runs; i++) {
        // Alternate which side goes first, so neither always runs right after the other's GC.
        if (i % 2 === 1) for (let r = 0; r < refs.length; r++) await timePrometheus(r);
        const c0 = [querier, ...storeChildren].map((c) => procCpuMs(c.proc.pid!));
        mine.push((await timeQuery(querier.url, q.path)).ms);
        const c1 = [querier, ...storeChildren].map((c) => procCpuMs(c.proc.pid!));
        cpu.querier += c1[0]! - c0[0]!;
        cpu.stores += c1[1]! - c0[1]! + c1[2]! - c0[2]!;
        if (i % 2 === 0) for (let r = 0; r < refs.length; r++) await timePrometheus(r);
      }
      const m = stats(mine);
      report(`query_${q.name}_median`, m.median, "ms");
      report(`query_${q.name}_min`, m.min, "ms");
      // CPU time per query (mean over the runs; 10 ms clock ticks): where Meridian's work goes,
      // and a comparison that depends less on what else the shared machine is doing.
      report(`query_${q.name}_cpu_querier`, cpu.querier / runs, "ms");
      report(`query_${q.name}_cpu_stores`, cpu.stores / runs, "ms");
      for (const [r, [key]] of refs.entries()) {
        const p = stats(theirs[r]!);
        report(`prometheus_${key}${q.name}_median`, p.median, "ms");
        report(`ratio_${key}${q.name}`, m.median / p.median, "meridian/prometheus");
        report(`prometheus_${key}${q.name}_cpu`, cpu.refs[r]! / runs, "ms");
        // Querier + both stores against Prometheus: steadier than the latency ratio under load.
        if (cpu.refs[r]! > 0) report(`cpu_ratio_${key}${q.name}`, (cpu.querier + cpu.stores) / cpu.refs[r]!, "meridian/prometheus");
      }
    }
    report("query_querier_peak_rss", procMemory(querier.proc.pid!, "VmHWM") / 1024 / 1024, "MiB");
    for (const [i, st] of stores.entries()) report(`query_store${i}_peak_rss`, procMemory(st.child.proc.pid!, "VmHWM") / 1024 / 1024, "MiB");
    for (const [key, p] of refs) report(`prometheus_${key}peak_rss`, procMemory(p.proc.pid!, "VmHWM") / 1024 / 1024, "MiB");

    // Throughput of the storage path alone, in this process against the store processes: every
    // series, whole range, both replicas → fan-out, decode, dedup.
    const wasm = await loadWasm();
    const transportFactory = createNodeTransportFactory();
    endpoints = createEndpointSet({
      staticEndpoints: stores.map((st) => ({ address: st.grpc })),
      clientFactory: (spec) => createStoreClient(spec.address, { transportFactory }),
    });
    endpoints.start();
    await endpoints.firstProbe;
    const component = createQueryComponent({ endpoints, wasm, metrics: createMetricsRegistry(), replicaLabels: ["replica"] });
    const queryable = createStoreQueryable({ stores: component.storeApi, wasm, request: { dedup: true, replicaLabels: ["replica"], partialResponse: true } });
    const selectAll = async (): Promise<number> => {
      const res = await queryable.querier(start, end).select(
        [createMatcher("=", "__name__", "http_requests_total")],
        { start, end, step: 60_000, range: 300_000, func: "rate" },
      );
      return res.series.reduce((acc, x) => acc + x.t.length, 0);
    };
    for (let i = 0; i < warmup; i++) await selectAll();
    const t0 = performance.now();
    let out = 0;
    for (let i = 0; i < runs; i++) out = await selectAll();
    const secs = (performance.now() - t0) / 1000 / runs;
    report("query_select_dedup_throughput", inputSamples / secs, "samples/s");
    report("query_select_dedup_output", out, "samples");
    report("query_loadavg_1m_end", loadAverage()[0], "load");
  } finally {
    // Children first: the in-process endpoint set's HTTP/2 sessions then see the stores' GOAWAY
    // while their session manager still listens. The other way round, a GOAWAY reaching a session
    // whose manager was aborted raised an unhandled 'error' event (connect-node) and killed this process.
    await stopAll(children);
    endpoints?.close();
    await rm(work, { recursive: true, force: true });
    forget();
  }
}
