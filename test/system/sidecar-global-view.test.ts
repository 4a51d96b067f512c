/**
 * The global view end to end: Prometheus 2.42 (30s blocks) → sidecar (StoreAPI + shipper to
 * s3rver) → `meridian store` over the uploaded blocks → `meridian query` with the sidecar and the
 * store gateway as endpoints. The blocks must be readable by the store gateway, and the querier
 * must answer over the whole time range like Prometheus itself, without double-counting the
 * time the sidecar and the store gateway both cover. Uses the built CLI (`npm run build`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelsFromRecord, mergeLabels, labelsToRecord } from "../../src/model/labels.ts";
import type { Bucket } from "../../src/objstore/bucket.ts";
import { createS3Bucket } from "../../src/objstore/s3-bucket.ts";
import { startGrpcServer, type RunningServer } from "../../src/runtime/node/serve.ts";
import { createNodeShipperFs } from "../../src/runtime/node/shipper-fs.ts";
import { createMetricsRegistry } from "../../src/server/metrics.ts";
import { createSidecar, type Sidecar } from "../../src/sidecar/sidecar.ts";
import { parseBlockMeta } from "../../src/tsdb/meta.ts";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver.ts";

const CLI = join(process.cwd(), "dist/src/runtime/node/cli.js");
const EXT = labelsFromRecord({ cluster: "eu", replica: "r0" });
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let dir: string;
let promUrl: string;
let s3: S3rverHandle;
let bucket: Bucket;
let sidecar: Sidecar;
let sidecarGrpc: RunningServer;

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function api(base: string, path: string): Promise<any> {
  const body = (await (await fetch(`${base}${path}`)).json()) as { status: string; data: unknown; error?: string };
  if (body.status !== "success") throw new Error(`${base}${path}: ${body.error}`);
  return body.data;
}

/** Starts a built-CLI component; resolves with its HTTP and gRPC ports from the "listening" log line. */
async function startComponent(args: string[]): Promise<{ http: number; grpc: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [CLI, ...args, "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  cleanups.push(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
  });
  let stderr = "";
  return new Promise((resolve, reject) => {
    proc.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /http port (\d+), grpc port (\d+)/.exec(stderr);
      if (m) resolve({ http: Number(m[1]), grpc: Number(m[2]), proc });
    });
    proc.once("exit", (code) => reject(new Error(`meridian ${args[0]} exited with ${code}: ${stderr}`)));
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}: ${String(last)}`);
}

describe.runIf(existsSync(CLI))("global view: Prometheus + sidecar + store gateway + querier", () => {
  let blockMeta: ReturnType<typeof parseBlockMeta>;
  let query: { http: number };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "meridian-global-view-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    s3 = await startS3rver(["blocks"]);
    cleanups.push(() => s3.stop());
    bucket = createS3Bucket(s3.config("blocks"));
    cleanups.push(() => bucket.close());

    let n = 0;
    const target = http.createServer((_req, res) => {
      n++;
      res.end(`# TYPE meridian_gv_requests_total counter\nmeridian_gv_requests_total{path="/a"} ${n}\nmeridian_gv_requests_total{path="/b"} ${3 * n}\n`);
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => target.close(() => r())));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    await writeFile(
      join(dir, "prometheus.yml"),
      `global:\n  scrape_interval: 1s\n  external_labels:\n    cluster: eu\n    replica: r0\nscrape_configs:\n  - job_name: target\n    static_configs:\n      - targets: ["127.0.0.1:${(target.address() as AddressInfo).port}"]\n`,
    );
    const prom = spawn("/usr/bin/prometheus", [
      `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.min-block-duration=30s", "--storage.tsdb.max-block-duration=30s", "--storage.tsdb.retention.time=1d",
    ], { stdio: "ignore" });
    cleanups.push(() => (prom.exitCode === null ? prom.kill("SIGKILL") : undefined));
    await until("Prometheus", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 30_000);

    sidecar = createSidecar({
      prometheusUrl: promUrl, metrics: createMetricsRegistry(), log: () => {},
      bucket, shipperFs: createNodeShipperFs(join(dir, "tsdb")), shipIntervalMs: 2000, heartbeatMs: 2000,
    });
    await sidecar.start();
    cleanups.push(() => sidecar.stop());
    sidecarGrpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: sidecar.storeApi, ready: sidecar.ready });
    cleanups.push(() => sidecarGrpc.close(1000));

    // First block is cut about 45-60 s after Prometheus started (30s blocks; 1m ones idled CI ~90 s).
    const ulid = await until("a shipped block", async () => {
      let found: string | undefined;
      await bucket.iter("", async (name) => {
        if (!found && (await bucket.exists(`${name}meta.json`))) found = name.slice(0, -1);
      });
      return found;
    }, 170_000);
    blockMeta = parseBlockMeta(new TextDecoder().decode(await bucket.get(`${ulid}/meta.json`)), ulid);

    await writeFile(join(dir, "bucket.yml"), s3.yaml("blocks"));
    const store = await startComponent(["store", `--objstore.config-file=${join(dir, "bucket.yml")}`, `--data-dir=${join(dir, "store")}`, "--sync-block-duration=1s"]);
    await until("store ready", async () => ((await fetch(`http://127.0.0.1:${store.http}/-/ready`)).ok ? true : undefined), 30_000);
    query = await startComponent(["query", `--endpoint=127.0.0.1:${sidecarGrpc.port}`, `--endpoint=127.0.0.1:${store.grpc}`]);
    await until("querier sees both stores", async () => {
      const stores = await fetch(`http://127.0.0.1:${query.http}/api/v1/query?query=count(meridian_gv_requests_total)`).then((r) => r.json() as Promise<{ data?: { result?: unknown[] } }>);
      return stores.data?.result?.length ? true : undefined;
    }, 30_000);
  }, 240_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("uploaded blocks carry a valid thanos section", () => {
    expect(blockMeta.thanos).toMatchObject({ labels: labelsToRecord(EXT), source: "sidecar", downsample: { resolution: 0 } });
    expect(blockMeta.compaction.level).toBe(1);
  });

  it("the querier answers like Prometheus over the whole range, counting the sidecar/store overlap once", async () => {
    const q = `http://127.0.0.1:${query.http}`;
    // From before the shipped block to now: the block's range is served by both endpoints.
    const start = Math.floor(blockMeta.minTime / 1000) - 5;
    const end = Math.floor(Date.now() / 1000) - 3;
    for (const expr of ["meridian_gv_requests_total", "count_over_time(meridian_gv_requests_total[30s])", "sum by (path) (meridian_gv_requests_total)", "sum(meridian_gv_requests_total)"]) {
      const path = `/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start}&end=${end}&step=1`;
      const [ours, theirs] = await Promise.all([api(q, path), api(promUrl, path)]);
      const norm = (r: { result: { metric: Record<string, string>; values: [number, string][] }[] }, ext: boolean) =>
        r.result
          .map((s) => ({ metric: ext && Object.keys(s.metric).length > 0 && !expr.startsWith("sum") ? labelsToRecord(mergeLabels(labelsFromRecord(s.metric), EXT)) : s.metric, values: s.values }))
          .sort((a, b) => (JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1));
      const a = norm(ours, false);
      const b = norm(theirs, true);
      // Name the first differing point so a failure says where (time vs block range).
      const diffs: string[] = [];
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        const va = a[i]?.values ?? [];
        const vb = b[i]?.values ?? [];
        for (let k = 0; k < Math.max(va.length, vb.length) && diffs.length < 5; k++) {
          if (JSON.stringify(va[k]) !== JSON.stringify(vb[k])) diffs.push(`${JSON.stringify(a[i]?.metric)} querier ${JSON.stringify(va[k])} prometheus ${JSON.stringify(vb[k])}`);
        }
      }
      expect(a, `${expr} (block [${blockMeta.minTime}, ${blockMeta.maxTime}), query [${start}, ${end}]): ${diffs.join("; ")}`).toEqual(b);
    }
    // The overlap exists: the store gateway alone answers for the block's range.
    const inBlock = Math.floor((blockMeta.minTime + blockMeta.maxTime) / 2000);
    const raw = await api(q, `/api/v1/query?query=${encodeURIComponent("count_over_time(meridian_gv_requests_total[10s])")}&time=${inBlock}`);
    const promRaw = await api(promUrl, `/api/v1/query?query=${encodeURIComponent("count_over_time(meridian_gv_requests_total[10s])")}&time=${inBlock}`);
    expect(raw.result.map((s: { value: [number, string] }) => s.value[1])).toEqual(promRaw.result.map((s: { value: [number, string] }) => s.value[1]));
  });
});
