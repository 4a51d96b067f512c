/**
 * The sidecar against Debian's real Prometheus 2.42: Series (native gRPC, Connect on Deno, the
 * SAMPLES fallback) equal Prometheus' own query API, label APIs match, blocks are shipped to a
 * filesystem bucket and to s3rver, and a Prometheus killed mid-stream gives an error, never a
 * truncated series.
 */
import { create } from "@bufbuild/protobuf";
import { createClient, ConnectError, Code, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-expect-error s3rver ships no types
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Info } from "../../src/gen/info/infopb/rpc_pb.ts";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, SeriesRequestSchema, Store, type SeriesRequest, type SeriesResponse } from "../../src/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type, LabelMatcherSchema, type LabelMatcher } from "../../src/gen/store/storepb/types_pb.ts";
import { compareLabels, labelsFromRecord, mergeLabels, type Labels } from "../../src/model/labels.ts";
import { isStaleMarker } from "../../src/model/series.ts";
import { createFilesystemBucket } from "../../src/runtime/node/filesystem-bucket.ts";
import { loadWasm } from "../../src/runtime/node/load-wasm.ts";
import { startGrpcServer, startHttpServer, type RunningServer } from "../../src/runtime/node/serve.ts";
import { createNodeShipperFs } from "../../src/runtime/node/shipper-fs.ts";
import { createComponentApp } from "../../src/server/app.ts";
import { createMetricsRegistry } from "../../src/server/metrics.ts";
import { createS3Bucket } from "../../src/objstore/s3-bucket.ts";
import { createShipper } from "../../src/sidecar/shipper.ts";
import { createSidecar, type Sidecar } from "../../src/sidecar/sidecar.ts";
import { createSidecarStoreApi } from "../../src/sidecar/store-api.ts";
import { parseBlockMeta } from "../../src/tsdb/meta.ts";
import { decodeXorChunksToSeries } from "../../src/wasm/xor.ts";
import type { MeridianWasm } from "../../src/wasm/module.ts";

const EXT = labelsFromRecord({ cluster: "eu", replica: "r0" });
const cleanups: (() => Promise<void> | void)[] = [];
let dir: string;
let promUrl: string;
let prom: ChildProcess;
let sidecar: Sidecar;
let grpc: RunningServer;
let store: Client<typeof Store>;
let wasm: MeridianWasm;
let bucketDir: string;
// A fixed past range, so Prometheus' answers and ours cover the same samples.
let start = 0;
let end = 0;

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}: ${String(last)}`);
}

async function promQuery(path: string): Promise<any> {
  const res = await fetch(`${promUrl}${path}`);
  const body = (await res.json()) as { status: string; data: unknown; error?: string };
  if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
  return body.data;
}

function matcher(name: string, value: string, type = LabelMatcher_Type.EQ): LabelMatcher {
  return create(LabelMatcherSchema, { name, value, type });
}

function seriesRequest(init: Partial<Omit<SeriesRequest, "$typeName">> & { matchers: LabelMatcher[] }): SeriesRequest {
  return create(SeriesRequestSchema, { minTime: BigInt(start), maxTime: BigInt(end), ...init });
}

interface Decoded {
  labels: Labels;
  t: number[];
  v: number[];
  chunkBytes: Uint8Array[];
}

async function collectSeries(frames: AsyncIterable<SeriesResponse>, into: Decoded[] = [], lo = start, hi = end): Promise<Decoded[]> {
  for await (const f of frames) {
    const list = f.result.case === "series" ? [f.result.value] : f.result.case === "batch" ? f.result.value.series : [];
    for (const s of list) {
      const chunks = s.chunks.map((c) => c.raw!.data.slice());
      const d = decodeXorChunksToSeries(wasm, chunks, { mint: lo, maxt: hi });
      into.push({ labels: s.labels.map((l) => ({ name: l.name, value: l.value })), t: [...d.t], v: [...d.v], chunkBytes: chunks });
    }
  }
  return into;
}

function key(l: Labels): string {
  return JSON.stringify(l);
}

beforeAll(async () => {
  wasm = await loadWasm();
  dir = await mkdtemp(join(tmpdir(), "meridian-sidecar-sys-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  // A second scrape target with a label that collides with an external label name.
  let n = 0;
  const target = http.createServer((_req, res) => {
    n++;
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
    res.end(
      [
        "# TYPE meridian_test_requests_total counter",
        `meridian_test_requests_total{path="/a"} ${n}`,
        `meridian_test_requests_total{path="/b"} ${n * 2.5}`,
        "# TYPE meridian_test_temperature gauge",
        `meridian_test_temperature{cluster="inner",sensor="1"} ${Math.sin(n / 3)}`,
        `meridian_test_temperature{sensor="2"} ${n % 7 === 0 ? "NaN" : 20 + n / 10}`,
        "",
      ].join("\n"),
    );
  });
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => target.close(() => r())));
  const targetPort = (target.address() as AddressInfo).port;

  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  await writeFile(
    join(dir, "prometheus.yml"),
    [
      "global:",
      "  scrape_interval: 1s",
      "  external_labels:",
      "    cluster: eu",
      "    replica: r0",
      "scrape_configs:",
      "  - job_name: prometheus",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${port}"]`,
      "  - job_name: target",
      "    static_configs:",
      `      - targets: ["127.0.0.1:${targetPort}"]`,
      "",
    ].join("\n"),
  );
  prom = spawn(
    "/usr/bin/prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // 30s blocks: the first is cut ~45-60 s after start (1.5 block ranges of head data), after the
      // read tests below (which cover a fixed range) and without idling CI for 1.5-2 min.
      "--storage.tsdb.min-block-duration=30s",
      "--storage.tsdb.max-block-duration=30s",
      "--storage.tsdb.retention.time=1d",
    ],
    { stdio: "ignore" },
  );
  cleanups.push(() => {
    if (prom.exitCode === null) prom.kill("SIGKILL");
  });
  await waitFor("Prometheus ready", async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined), 30_000);

  bucketDir = join(dir, "bucket");
  const metrics = createMetricsRegistry();
  sidecar = createSidecar({
    prometheusUrl: promUrl,
    metrics,
    log: () => {},
    bucket: createFilesystemBucket(bucketDir),
    shipperFs: createNodeShipperFs(join(dir, "tsdb")),
    shipIntervalMs: 2000,
    heartbeatMs: 2000,
  });
  await sidecar.start();
  cleanups.push(() => sidecar.stop());
  grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: sidecar.storeApi, ready: sidecar.ready });
  cleanups.push(() => grpc.close(1000));
  store = createClient(Store, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpc.port}` }));

  // Let 12 s of scrapes accumulate, then fix a range in the past (odd ms, so no sample sits on an edge).
  await new Promise((r) => setTimeout(r, 12_000));
  end = Date.now() - 1500;
  end = end - (end % 1000) + 7;
  start = end - 9_000;
}, 90_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("sidecar over Prometheus 2.42", () => {
  it("Series over native gRPC equals Prometheus' raw samples and query_range", async () => {
    const sel = () => [matcher("job", "target"), matcher("__name__", "meridian_test_.*", LabelMatcher_Type.RE)];
    const got = await collectSeries(store.series(seriesRequest({ matchers: sel() })));
    expect(got.length).toBe(4);
    for (let i = 1; i < got.length; i++) expect(compareLabels(got[i - 1]!.labels, got[i]!.labels)).toBeLessThan(0);
    // External labels attached and winning over the scraped cluster="inner".
    for (const s of got) expect(s.labels.filter((l) => l.name === "cluster" || l.name === "replica")).toEqual(EXT);

    // Raw samples: an instant query of a range selector returns stored samples as they are.
    const rangeS = (end - start) / 1000;
    const raw = (await promQuery(`/api/v1/query?query=${encodeURIComponent(`{job="target",__name__=~"meridian_test_.*"}[${rangeS}s]`)}&time=${end / 1000}`)).result as {
      metric: Record<string, string>;
      values: [number, string][];
    }[];
    const byKey = new Map(got.map((s) => [key(s.labels), s]));
    expect(raw.length).toBe(4);
    for (const r of raw) {
      const s = byKey.get(key(mergeLabels(labelsFromRecord(r.metric), EXT)));
      expect(s, JSON.stringify(r.metric)).toBeDefined();
      const want = r.values.filter(([t]) => t * 1000 >= start);
      expect(s!.t).toEqual(want.map(([t]) => Math.round(t * 1000)));
      expect(s!.v.map(String)).toEqual(want.map(([, v]) => (v === "NaN" ? "NaN" : String(Number(v)))));
    }

    // query_range: evaluate our samples with Prometheus' lookback (5m) at each 1 s step.
    const lookback = 300_000;
    const wide = await collectSeries(store.series(seriesRequest({ minTime: BigInt(start - lookback), matchers: sel() })), [], start - lookback, end);
    const qr = (await promQuery(`/api/v1/query_range?query=${encodeURIComponent(`{job="target",__name__=~"meridian_test_.*"}`)}&start=${start / 1000}&end=${end / 1000}&step=1`)).result as {
      metric: Record<string, string>;
      values: [number, string][];
    }[];
    expect(qr.length).toBe(4);
    const wideByKey = new Map(wide.map((s) => [key(s.labels), s]));
    for (const r of qr) {
      const s = wideByKey.get(key(mergeLabels(labelsFromRecord(r.metric), EXT)))!;
      const expected: [number, string][] = [];
      for (let ts = start; ts <= end; ts += 1000) {
        let j = -1;
        for (let k = 0; k < s.t.length && s.t[k]! <= ts; k++) j = k;
        if (j < 0 || ts - s.t[j]! > lookback || isStaleMarker(s.v[j]!)) continue;
        expected.push([ts / 1000, Number.isNaN(s.v[j]!) ? "NaN" : String(s.v[j])]);
      }
      expect(r.values.map(([t, v]) => [t, v === "NaN" ? "NaN" : String(Number(v))])).toEqual(expected);
    }
  });

  it("SAMPLES fallback, batching, skip_chunks and replica-label stripping agree with the streamed path", async () => {
    const req = () => seriesRequest({ matchers: [matcher("__name__", "meridian_test_.*", LabelMatcher_Type.RE)] });
    const streamed = await collectSeries(store.series(req()));
    const ctl = new AbortController();
    const samplesApi = createSidecarStoreApi({ client: sidecar.client, state: sidecar.state, samplesOnly: true });
    const viaSamples = await collectSeries(samplesApi.series(req(), ctl.signal));
    expect(viaSamples.map((s) => [s.labels, s.t, s.v.map(String)])).toEqual(streamed.map((s) => [s.labels, s.t, s.v.map(String)]));

    const batched = await collectSeries(store.series(seriesRequest({ responseBatchSize: 3n, matchers: req().matchers })));
    expect(batched.map((s) => s.labels)).toEqual(streamed.map((s) => s.labels));

    const skipped: Labels[] = [];
    for await (const f of store.series(seriesRequest({ skipChunks: true, matchers: req().matchers }))) {
      if (f.result.case === "series") {
        expect(f.result.value.chunks).toEqual([]);
        skipped.push(f.result.value.labels.map((l) => ({ name: l.name, value: l.value })));
      }
    }
    expect(skipped).toEqual(streamed.map((s) => s.labels));

    const stripped = await collectSeries(store.series(seriesRequest({ withoutReplicaLabels: ["replica"], matchers: req().matchers })));
    expect(stripped.map((s) => s.labels)).toEqual(streamed.map((s) => s.labels.filter((l) => l.name !== "replica")).sort(compareLabels));
  });

  it("settles matchers on external labels as the contract says", async () => {
    const none = await collectSeries(store.series(seriesRequest({ matchers: [matcher("job", "target"), matcher("cluster", "us")] })));
    expect(none).toEqual([]);
    const same = await collectSeries(store.series(seriesRequest({ matchers: [matcher("job", "target"), matcher("cluster", "e.*", LabelMatcher_Type.RE)] })));
    expect(same.length).toBe(9); // 4 scraped + 5 synthetic (up, scrape_*) series
    const err = await collectSeries(store.series(seriesRequest({ matchers: [matcher("cluster", "eu")] }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(/no matchers specified \(excluding external labels\)/);
  });

  it("label APIs and Info match Prometheus", async () => {
    const names = await store.labelNames(create(LabelNamesRequestSchema, { start: BigInt(start), end: BigInt(end) }));
    const promNames = (await promQuery(`/api/v1/labels?start=${start / 1000}&end=${end / 1000}`)) as string[];
    expect(names.names).toEqual([...new Set([...promNames, "cluster", "replica"])].sort());
    const values = await store.labelValues(create(LabelValuesRequestSchema, { label: "__name__", start: BigInt(start), end: BigInt(end), matchers: [matcher("job", "target")] }));
    const promValues = (await promQuery(`/api/v1/label/__name__/values?match[]=${encodeURIComponent('{job="target"}')}&start=${start / 1000}&end=${end / 1000}`)) as string[];
    expect(values.values).toEqual(promValues);
    expect(values.values).toEqual(expect.arrayContaining(["meridian_test_requests_total", "meridian_test_temperature", "up"]));
    const ext = await store.labelValues(create(LabelValuesRequestSchema, { label: "replica", start: BigInt(start), end: BigInt(end) }));
    expect(ext.values).toEqual(["r0"]);
    const stripped = await store.labelValues(create(LabelValuesRequestSchema, { label: "replica", withoutReplicaLabels: ["replica"] }));
    expect(stripped.values).toEqual([]);

    const info = await createClient(Info, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpc.port}` })).info({});
    expect(info.ComponentType).toBe("sidecar");
    expect(info.labelSets[0]!.labels.map((l) => [l.name, l.value])).toEqual([["cluster", "eu"], ["replica", "r0"]]);
    expect(info.store!.maxTime).toBe(9223372036854775807n);
    expect(info.store!.supportsWithoutReplicaLabels).toBe(true);
    // Min time is Prometheus' lowest stored timestamp (the ms gauge on /metrics).
    const lowest = Number(/^prometheus_tsdb_lowest_timestamp (\S+)$/m.exec(await (await fetch(`${promUrl}/metrics`)).text())![1]);
    expect(Number(info.store!.minTime)).toBe(lowest);
  });

  it("runs on Deno and answers Series over Connect and gRPC-Web like the Node gRPC server", async () => {
    const port = await freePort();
    const deno = spawn(
      join(process.cwd(), "node_modules/.bin/deno"),
      ["run", "-A", "src/runtime/deno/main.ts", "sidecar", `--prometheus.url=${promUrl}`, `--http-address=127.0.0.1:${port}`],
      { stdio: ["ignore", "ignore", "pipe"], cwd: process.cwd() },
    );
    let stderr = "";
    deno.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    try {
      await waitFor("Deno sidecar ready", async () => ((await fetch(`http://127.0.0.1:${port}/-/ready`)).ok ? true : undefined), 60_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${stderr}`);
      });
      const req = () => seriesRequest({ matchers: [matcher("job", "target")] });
      const viaGrpc = await collectSeries(store.series(req()));
      for (const transport of [
        createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
        createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1" }),
      ]) {
        const got = await collectSeries(createClient(Store, transport).series(req()));
        expect(got.map((s) => [s.labels, s.t, s.v.map(String)])).toEqual(viaGrpc.map((s) => [s.labels, s.t, s.v.map(String)]));
      }
    } finally {
      deno.kill("SIGTERM");
      await new Promise((r) => deno.once("exit", r));
    }
    expect(deno.exitCode ?? 0).toBe(0);
  });

  it("ships cut blocks to the filesystem bucket and to s3rver with a valid thanos meta.json", async () => {
    const tsdb = join(dir, "tsdb");
    // With 30s blocks Prometheus cuts the first one about 45-60 s after start.
    const ulid = await waitFor(
      "a block in the filesystem bucket",
      async () => {
        for (const e of await readdir(bucketDir).catch(() => [] as string[])) if (existsSync(join(bucketDir, e, "meta.json"))) return e;
        return undefined;
      },
      170_000,
    );
    const meta = parseBlockMeta(await readFile(join(bucketDir, ulid, "meta.json"), "utf8"), ulid);
    expect(meta.thanos).toMatchObject({ labels: { cluster: "eu", replica: "r0" }, source: "sidecar", downsample: { resolution: 0 } });
    for (const f of meta.thanos!.files!) {
      if (f.size_bytes !== undefined) expect((await stat(join(bucketDir, ulid, f.rel_path))).size).toBe(f.size_bytes);
      if (f.size_bytes !== undefined) expect((await stat(join(tsdb, ulid, f.rel_path))).size).toBe(f.size_bytes);
    }
    expect(JSON.parse(await readFile(join(tsdb, "thanos.shipper.json"), "utf8")).uploaded).toContain(ulid);

    const s3dir = await mkdtemp(join(tmpdir(), "meridian-s3rver-"));
    const s3 = new S3rver({ address: "127.0.0.1", port: 0, directory: s3dir, silent: true, configureBuckets: [{ name: "meridian" }] });
    const { port } = (await s3.run()) as { port: number };
    try {
      const bucket = createS3Bucket({ bucket: "meridian", endpoint: `127.0.0.1:${port}`, insecure: true, accessKey: "S3RVER", secretKey: "S3RVER", region: "us-east-1", bucketLookupType: "path" });
      const fs = createNodeShipperFs(tsdb);
      // A fresh progress file for this bucket: move the filesystem one aside.
      const progress = await readFile(join(tsdb, "thanos.shipper.json"));
      await rm(join(tsdb, "thanos.shipper.json"));
      try {
        const res = await createShipper({ fs, bucket, externalLabels: () => EXT }).sync();
        expect(res.failed).toBeUndefined();
        expect(res.uploaded).toContain(ulid);
        const s3meta = parseBlockMeta(new TextDecoder().decode(await bucket.get(`${ulid}/meta.json`)), ulid);
        expect(s3meta.thanos?.files).toEqual(meta.thanos?.files);
        const index = await bucket.get(`${ulid}/index`);
        expect(Buffer.from(index).equals(await readFile(join(tsdb, ulid, "index")))).toBe(true);
      } finally {
        await writeFile(join(tsdb, "thanos.shipper.json"), progress);
        await bucket.close();
      }
    } finally {
      await s3.close();
      await rm(s3dir, { recursive: true, force: true });
    }
  }, 200_000);

  it("a Prometheus killed mid-stream gives an error, never a truncated series", async () => {
    const reference = await collectSeries(store.series(seriesRequest({ matchers: [matcher("__name__", ".+", LabelMatcher_Type.RE)] })));
    const refByKey = new Map(reference.map((s) => [key(s.labels), s]));
    expect(reference.length).toBeGreaterThan(100);
    // A proxy that lets a quarter of the remote-read body through, then kills Prometheus.
    let killed = false;
    const proxy = http.createServer((req, res) => {
      const up = http.request(`${promUrl}${req.url}`, { method: req.method, headers: req.headers }, (pres) => {
        res.writeHead(pres.statusCode ?? 502, pres.headers);
        if (!req.url!.startsWith("/api/v1/read") || killed) return void pres.pipe(res);
        let seen = 0;
        pres.on("data", (c: Buffer) => {
          if (killed) return;
          seen += c.length;
          res.write(c);
          if (seen > 20_000) {
            killed = true;
            prom.kill("SIGKILL");
            pres.destroy();
            res.socket?.destroy();
          }
        });
        pres.on("end", () => res.end());
      });
      up.on("error", () => res.socket?.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    try {
      const viaProxy = createSidecar({ prometheusUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, metrics: createMetricsRegistry(), log: () => {} });
      await viaProxy.start();
      const http1 = await startHttpServer({ address: "127.0.0.1:0", fetch: createComponentApp({ storeApi: viaProxy.storeApi, ready: viaProxy.ready, metrics: createMetricsRegistry() }).fetch });
      try {
        const client = createClient(Store, createConnectTransport({ baseUrl: `http://127.0.0.1:${http1.port}`, httpVersion: "1.1" }));
        const got: Decoded[] = [];
        const err = await collectSeries(client.series(seriesRequest({ matchers: [matcher("__name__", ".+", LabelMatcher_Type.RE)] })), got).catch((e: unknown) => e);
        expect(killed).toBe(true);
        expect(err).toBeInstanceOf(ConnectError);
        expect((err as ConnectError).code).toBe(Code.Unavailable);
        expect(got.length).toBeLessThan(reference.length);
        // Whatever arrived before the error is complete.
        for (const s of got) {
          const ref = refByKey.get(key(s.labels));
          expect(ref, key(s.labels)).toBeDefined();
          expect(s.t).toEqual(ref!.t);
        }
      } finally {
        await viaProxy.stop();
        await http1.close(1000);
      }
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
