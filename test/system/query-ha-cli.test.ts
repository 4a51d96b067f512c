/**
 * Issue 5's acceptance setup, started as a user would (built CLI, child processes): HA replicas'
 * blocks with external labels {cluster, replica="a"|"b"} in s3rver buckets, `meridian store`
 * processes over them and one `meridian query --query.replica-label=replica`.
 *
 * - cluster "eu" (bucket `eu`): an HA pair that scraped the same samples. The deduplicated
 *   answers must equal a real Prometheus 2.42 loaded with one replica's data, byte for byte,
 *   except for the external label `cluster="eu"` the querier adds (Prometheus does not add
 *   external labels to query results), which is removed from Meridian's bodies first. Requests
 *   carry `storeMatch[]` for the eu store, which Prometheus ignores.
 * - cluster "us" (bucket `us`): each replica misses a different stretch (a restart). The
 *   deduplicated series must have a value at every 15 s step where either replica had data.
 *   It is not byte-equal to the gap-free data: Thanos' penalty algorithm (which Meridian
 *   follows, thanos-components.md §2.5) skips the other replica's samples within 2× the scrape
 *   interval after a switch, so up to two samples per switch are not used — by design.
 *
 * Samples are 1.234 s off the minute grid, so Prometheus 2.x's closed and 3.x's left-open windows
 * select the same samples (prometheus-formats.md §10). Range queries start 10 minutes after the
 * data: in the first window of a counter, 2.42 and 3.x extrapolate rate/increase differently
 * (3.x applies the "not below zero" limit after the half-interval rule; observed 0.3176 vs 0.3092).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Bucket } from "../../src/objstore/s3-bucket.ts";
import { writeBlockDir } from "../../src/runtime/node/write-block-dir.ts";
import { writeBlock } from "../../src/tsdb/block-writer.ts";
import { COMPAT_HOURS, COMPAT_T0, makeCompatSeries, withoutWindow } from "../helpers/query-compat-data.ts";
import { haveBuiltCli, startCliComponent, type CliComponent } from "../helpers/query-cli.ts";
import { uploadWrittenBlock, waitFor } from "../helpers/query-stack.ts";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver.ts";
import { findBinary, startPrometheus, type RunningPrometheus } from "./helpers/promtool.ts";

const ready = findBinary("prometheus") !== undefined && haveBuiltCli();
if (!ready) console.warn("SKIPPED query-ha-cli: needs Debian's prometheus and `npm run build`");

const MIN = 60_000;
const END = COMPAT_T0 + COMPAT_HOURS * 3600_000;
const START = COMPAT_T0 + 10 * MIN;
const GAP_A: [number, number] = [COMPAT_T0 + 60 * MIN, COMPAT_T0 + 80 * MIN];
const GAP_B: [number, number] = [COMPAT_T0 + 150 * MIN, COMPAT_T0 + 175 * MIN];
const sec = (ms: number): string => String(ms / 1000);
const enc = encodeURIComponent;

let work = "";
let s3: S3rverHandle | undefined;
let prom: RunningPrometheus | undefined;
const stores: CliComponent[] = [];
let query: CliComponent | undefined;
let queryUrl = "";
let onlyEu = "";

beforeAll(async () => {
  if (!ready) return;
  work = await mkdtemp(join(tmpdir(), "meridian-query-ha-cli-"));
  const full = makeCompatSeries();
  s3 = await startS3rver(["eu", "us"]);
  const eu = createS3Bucket(s3.config("eu"));
  const us = createS3Bucket(s3.config("us"));
  for (const replica of ["a", "b"]) await uploadWrittenBlock(eu, writeBlock(full, { thanos: { labels: { cluster: "eu", replica }, source: "sidecar" } }));
  await uploadWrittenBlock(us, writeBlock(withoutWindow(full, ...GAP_A), { thanos: { labels: { cluster: "us", replica: "a" }, source: "sidecar" } }));
  await uploadWrittenBlock(us, writeBlock(withoutWindow(full, ...GAP_B), { thanos: { labels: { cluster: "us", replica: "b" }, source: "sidecar" } }));
  await Promise.all([eu.close(), us.close()]);
  const tsdb = join(work, "prom-tsdb");
  await mkdir(tsdb, { recursive: true });
  await writeBlockDir(tsdb, writeBlock(full, {}));
  prom = await startPrometheus(tsdb, work);
  for (const b of ["eu", "us"]) {
    stores.push(await startCliComponent(["store", `--objstore.config=${s3.yaml(b)}`, `--data-dir=${join(work, `store-${b}`)}`], work));
  }
  query = await startCliComponent(["query", ...stores.map((st) => `--endpoint=127.0.0.1:${st.grpcPort}`), "--query.replica-label=replica"], work);
  queryUrl = `http://127.0.0.1:${query.httpPort}`;
  onlyEu = `&storeMatch[]=${enc(`{__address__="127.0.0.1:${stores[0]!.grpcPort}"}`)}`;
  // The querier probes every 5 s; stores answer Info only after their first bucket sync.
  await waitFor(async () => {
    const res = await fetch(`${queryUrl}/api/v1/query?query=${enc("count by (cluster) (node_load1)")}&time=${sec(END - MIN)}`).catch(() => undefined);
    const body = res ? ((await res.json()) as { data?: { result?: unknown[] } }) : undefined;
    return (body?.data?.result?.length ?? 0) === 2;
  }, "the querier to see both stores' data", 60_000);
});

afterAll(async () => {
  await query?.stop();
  await Promise.all(stores.map((st) => st.stop()));
  await prom?.stop();
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Meridian's body without the external label Prometheus would not show. */
function withoutCluster(body: string): string {
  return body.replaceAll(',"cluster":"eu"', "").replaceAll('"cluster":"eu",', "");
}

/** Sends `path` to Prometheus and (restricted to the eu store) to Meridian; describes a difference. */
async function diff(path: string): Promise<string | undefined> {
  const [p, m] = await Promise.all([fetch(`${prom!.url}${path}`), fetch(`${queryUrl}${path}${path.includes("?") ? onlyEu : `?${onlyEu.slice(1)}`}`)]);
  const [pb, mb] = [await p.text(), withoutCluster(await m.text())];
  if (p.status === m.status && pb === mb) return undefined;
  let i = 0;
  while (i < pb.length && pb[i] === mb[i]) i++;
  const from = Math.max(0, i - 200);
  return `${decodeURIComponent(path)} (first difference at byte ${i})\n  prometheus ${p.status}: …${pb.slice(from, i + 200)}\n  meridian   ${m.status}: …${mb.slice(from, i + 200)}`;
}

// Plain sums and means are left out here (2.42 adds plainly, Prometheus 3 with Kahan
// compensation: last-bit differences; query-compat.test.ts compares those within 1e-12).
const EXPRESSIONS = [
  "node_load1",
  "http_requests_total",
  "rate(http_requests_total[5m])",
  "increase(http_requests_total[10m])",
  "irate(http_requests_total[2m])",
  "resets(http_requests_total[30m])",
  "max by (job) (rate(http_requests_total[5m]))",
  "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))",
  "max_over_time(node_load1[10m])",
  "count_over_time(node_load1[5m])",
  "compat_special",
  "compat_tiny",
  "compat_huge",
];

interface Matrix {
  data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
}

async function matrix(base: string, expr: string, start: number, end: number, extra = ""): Promise<Matrix["data"]["result"]> {
  const res = await fetch(`${base}/api/v1/query_range?query=${enc(expr)}&start=${sec(start)}&end=${sec(end)}&step=15${extra}`);
  return ((await res.json()) as Matrix).data.result;
}

describe.skipIf(!ready)("meridian store + meridian query (CLI) over HA pairs in s3rver vs Prometheus 2.42", () => {
  it("range queries over an HA pair equal Prometheus over one replica", async () => {
    const diffs: string[] = [];
    for (const e of EXPRESSIONS) {
      for (const step of ["60", "15"]) {
        const d = await diff(`/api/v1/query_range?query=${enc(e)}&start=${sec(START)}&end=${sec(END + 10 * MIN)}&step=${step}`);
        if (d) diffs.push(d);
      }
    }
    expect(diffs).toEqual([]);
  });

  it("instant queries over an HA pair equal Prometheus over one replica", async () => {
    const diffs: string[] = [];
    for (const at of [START + 7 * MIN, COMPAT_T0 + 100 * MIN, END - MIN, END + 4 * MIN]) {
      for (const e of [...EXPRESSIONS, "http_requests_total[3m]", "count_over_time(node_load1[20m])"]) {
        const d = await diff(`/api/v1/query?query=${enc(e)}&time=${sec(at)}`);
        if (d) diffs.push(d);
      }
    }
    expect(diffs).toEqual([]);
  });

  it("series and label APIs over an HA pair equal Prometheus' (replica label stripped)", async () => {
    const diffs: string[] = [];
    for (const path of [
      `/api/v1/series?match[]=${enc("http_requests_total")}&match[]=${enc("node_load1")}`,
      `/api/v1/label/job/values`,
      `/api/v1/label/__name__/values?start=${sec(COMPAT_T0)}&end=${sec(END)}`,
    ]) {
      const d = await diff(path);
      if (d) diffs.push(d);
    }
    expect(diffs).toEqual([]);
    const names = (await (await fetch(`${queryUrl}/api/v1/labels`)).json()) as { data: string[] };
    const promNames = (await (await fetch(`${prom!.url}/api/v1/labels`)).json()) as { data: string[] };
    expect(names.data).toEqual([...promNames.data, "cluster"].sort());
  });

  it("replicas with different gaps: a value at every 15 s step, each a recent sample of the data", async () => {
    const sel = '{__name__=~"node_load1|http_requests_total|compat_tiny"}';
    const [mine, truth] = await Promise.all([
      matrix(queryUrl, sel.replace("{", '{cluster="us",'), COMPAT_T0 + 15_000, END - 15_000),
      matrix(prom!.url, sel, COMPAT_T0 + 15_000, END - 15_000),
    ]);
    expect(mine.map((s) => withoutCluster(JSON.stringify(s.metric)).replace('"cluster":"us",', ""))).toEqual(truth.map((s) => JSON.stringify(s.metric)));
    for (const [i, s] of mine.entries()) {
      const want = truth[i]!.values;
      expect(s.values.map(([t]) => t)).toEqual(want.map(([t]) => t)); // no missing step
      // Each value is the data's value at that step or at one of the two steps before (the
      // samples the penalty algorithm skips right after a replica switch).
      s.values.forEach(([t, v], j) => {
        const ok = [0, 1, 2].some((k) => j - k >= 0 && want[j - k]![1] === v);
        if (!ok) throw new Error(`${JSON.stringify(s.metric)} at ${t}: ${v}, data had ${want.slice(Math.max(0, j - 2), j + 1).map((x) => x[1]).join(", ")}`);
      });
      const exact = s.values.filter(([, v], j) => want[j]![1] === v).length;
      expect(exact / s.values.length).toBeGreaterThan(0.98);
    }
  });

  it("dedup=false shows both replicas of the gappy pair, each with its own gap", async () => {
    const res = await matrix(queryUrl, 'node_load1{cluster="us",instance="10.0.0.1:9100"}', COMPAT_T0, END, "&dedup=false");
    expect(res.map((r) => r.metric.replica)).toEqual(["a", "b"]);
    const has = (r: { values: [number, string][] }, ms: number): boolean => r.values.some(([t]) => t * 1000 === ms);
    const [a, b] = res;
    // Ten minutes into a gap (beyond the last sample's 5 m lookback) only the other replica has data.
    expect(has(a!, GAP_A[0] + 10 * MIN)).toBe(false);
    expect(has(b!, GAP_A[0] + 10 * MIN)).toBe(true);
    expect(has(b!, GAP_B[0] + 10 * MIN)).toBe(false);
    expect(has(a!, GAP_B[0] + 10 * MIN)).toBe(true);
  });
});
