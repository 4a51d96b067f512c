/**
 * End to end as a user runs it: promtool blocks in an s3rver bucket, `meridian store` started from
 * the compiled CLI with `--objstore.config-file`, and the StoreAPI called over native gRPC (h2c),
 * Connect and gRPC-Web. Results must equal the source samples; a block uploaded while the store
 * runs appears after the next sync, a half-uploaded one never does.
 */
import { create } from "@bufbuild/protobuf";
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Info, InfoRequestSchema } from "../src/gen/info/infopb/rpc_pb.ts";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, Store } from "../src/gen/store/storepb/rpc_pb.ts";
import { labelsFromRecord } from "../src/model/labels.ts";
import type { FloatSeries } from "../src/model/series.ts";
import { createS3Bucket } from "../src/objstore/s3-bucket.ts";
import type { Bucket } from "../src/objstore/bucket.ts";
import { createFilesystemBucket } from "../src/runtime/node/filesystem-bucket.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { writeBlock } from "../src/tsdb/block-writer.ts";
import type { MeridianWasm } from "../src/wasm/module.ts";
import { startS3rver, type S3rverHandle } from "./helpers/s3rver.ts";
import {
  assertMatches, collectSeries, expectedFor, fmt, loadExpected, seriesRequest, uploadFixtureGroup, uploadWrittenBlock, type ExpSeries, type M,
} from "./helpers/s3rver-store.ts";

const root = resolve(import.meta.dirname, "..");
const GROUP = "promtool-openmetrics-2.42";
const SCRAPED = "prometheus-2.42-scraped";

/** Compiles the CLI into a private directory (concurrent test files must not share dist/). */
async function buildCli(): Promise<string> {
  const out = join(root, "node_modules", ".cache", `meridian-store-e2e-${process.pid}`);
  await promisify(execFile)(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", out], { cwd: root }).catch((err: { stdout?: string }) => {
    // Type errors elsewhere in the tree do not stop emitting; a missing CLI does.
    if (!existsSync(join(out, "src/runtime/node/cli.js"))) throw new Error(`tsc failed: ${err.stdout ?? err}`);
  });
  return out;
}

/** Starts `meridian store` from the compiled CLI; resolves once it logged its ports. */
async function startCli(out: string, configFile: string, dataDir: string, onStderr: (text: string) => void): Promise<{ proc: ChildProcess; httpPort: number; grpcPort: number }> {
  const proc = spawn(process.execPath, [
    join(out, "src/runtime/node/cli.js"), "store",
    `--objstore.config-file=${configFile}`, `--data-dir=${dataDir}`,
    "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0", "--sync-block-duration=1s", "--log.level=debug",
  ], { stdio: ["ignore", "inherit", "pipe"] });
  let text = "";
  return new Promise((resolveListen, reject) => {
    proc.stderr!.on("data", (d: Buffer) => {
      text += d.toString();
      onStderr(d.toString());
      const m = /http port (\d+), grpc port (\d+)/.exec(text);
      if (m) resolveListen({ proc, httpPort: Number(m[1]), grpcPort: Number(m[2]) });
    });
    proc.once("exit", (code) => reject(new Error(`meridian store exited with ${code}: ${text}`)));
  });
}

describe("meridian store end to end (s3rver, gRPC, Connect, gRPC-Web)", () => {
  let s3: S3rverHandle;
  let bucket: Bucket;
  let out: string;
  let dir: string;
  let proc: ChildProcess;
  let stderr = "";
  let httpPort = 0;
  let grpcPort = 0;
  let wasm: MeridianWasm;
  let expected: ExpSeries[];
  let scraped: ExpSeries[];
  const transports: Record<string, () => Transport> = {
    grpc: () => createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}` }),
    connect: () => createConnectTransport({ baseUrl: `http://127.0.0.1:${httpPort}`, useBinaryFormat: true }),
    "grpc-web": () => createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${httpPort}`, useBinaryFormat: true }),
  };

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(" ").pop()) : 0;
  };
  /** Waits until the store has completed `n` more syncs (polling /metrics; no fixed sleeps). */
  const waitSyncs = async (n: number) => {
    const start = await metric("thanos_blocks_meta_syncs_total");
    while ((await metric("thanos_blocks_meta_syncs_total")) < start + n + 1) await new Promise((r) => setTimeout(r, 100));
  };

  beforeAll(async () => {
    [wasm, s3, out] = await Promise.all([loadWasm(), startS3rver(["blocks"]), buildCli()]);
    bucket = createS3Bucket(s3.config("blocks"));
    await uploadFixtureGroup(bucket, GROUP);
    await uploadFixtureGroup(bucket, SCRAPED, { cluster: "scraped", replica: "r0" });
    expected = loadExpected(GROUP);
    scraped = loadExpected(SCRAPED).map((s) => ({ ...s, labels: labelsFromRecord({ ...Object.fromEntries(s.labels.map((l) => [l.name, l.value])), cluster: "scraped", replica: "r0" }) }));
    dir = mkdtempSync(join(tmpdir(), "meridian-store-e2e-"));
    writeFileSync(join(dir, "bucket.yml"), s3.yaml("blocks"));
    ({ proc, httpPort, grpcPort } = await startCli(out, join(dir, "bucket.yml"), join(dir, "data"), (t) => (stderr += t)));
    while ((await fetch(`http://127.0.0.1:${httpPort}/-/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
  }, 120_000);

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise<number | null>((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
    await bucket?.close();
    await s3?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (out) rmSync(out, { recursive: true, force: true });
  });

  const combos: M[][] = [
    [["=", "job", "demo"]],
    [["=", "__name__", "demo_gauge"], ["!=", "instance", "a"]],
    [["=~", "__name__", "demo_(irregular|requests_total)"]],
    [["!~", "__name__", "demo_gauge"], ["=", "job", "demo"]],
  ];

  for (const [name, make] of Object.entries(transports)) {
    describe(`over ${name}`, () => {
      let store: Client<typeof Store>;
      let info: Client<typeof Info>;
      beforeAll(() => {
        const t = make();
        store = createClient(Store, t);
        info = createClient(Info, t);
      });

      it("Info describes the store", async () => {
        const r = await info.info(create(InfoRequestSchema, {}));
        expect(r.ComponentType).toBe("store");
        expect(r.labelSets.map((s) => fmt(s.labels))).toEqual(['{cluster="scraped", replica="r0"}']);
        expect(r.store!.supportsWithoutReplicaLabels).toBe(true);
        expect(Number(r.store!.minTime)).toBeLessThanOrEqual(1700000000000);
      });

      for (const ms of combos) {
        it(`Series ${ms.map(([t, n, v]) => `${n}${t}"${v}"`).join(",")} equals the source samples`, async () => {
          const got = await collectSeries(store.series(seriesRequest(ms, 1699990000000, 1700030000000, { responseBatchSize: 64n })));
          assertMatches(wasm, got, expectedFor(expected, ms, 1699990000000, 1700030000000));
        });
      }

      it("Series over scraped blocks with external labels, matched and stripped", async () => {
        const ms: M[] = [["=", "cluster", "scraped"], ["=~", "__name__", "up|prometheus_build_info"]];
        const got = await collectSeries(store.series(seriesRequest(ms, 0, 9e15)));
        assertMatches(wasm, got, expectedFor(scraped, ms, 0, 9e15));
        expect(got.series.length).toBeGreaterThan(0);
        const stripped = await collectSeries(store.series(seriesRequest(ms, 0, 9e15, { withoutReplicaLabels: ["replica"], skipChunks: true })));
        expect(stripped.series.every((s) => !s.labels.some((l) => l.name === "replica"))).toBe(true);
        expect(stripped.series.length).toBe(got.series.length);
      });

      it("LabelNames and LabelValues", async () => {
        const names = await store.labelNames(create(LabelNamesRequestSchema, { start: 1700000000000n, end: 1700020000000n }));
        expect(names.names).toEqual(["__name__", "instance", "job"]);
        const values = await store.labelValues(create(LabelValuesRequestSchema, { label: "__name__", start: 1700000000000n, end: 1700020000000n, matchers: [] }));
        expect(values.values).toEqual(["demo_gauge", "demo_irregular", "demo_requests_total"]);
        const clusters = await store.labelValues(create(LabelValuesRequestSchema, { label: "cluster" }));
        expect(clusters.values).toEqual(["scraped"]);
      });
    });
  }

  it("serves /metrics with blocks loaded, bytes fetched and Series latency", async () => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(await metric("thanos_bucket_store_blocks_loaded")).toBe(6);
    expect(text).toMatch(/thanos_bucket_store_bytes_fetched_total\{data_type="chunks"\} [1-9]/);
    expect(text).toMatch(/thanos_bucket_store_series_duration_seconds_count [1-9]/);
    expect(text).toMatch(/thanos_store_index_cache_requests_total\{item_type="Postings"\} [1-9]/);
  });

  it("picks up a block uploaded while running; a half-uploaded block never appears", async () => {
    const t0 = 1_760_000_000_000;
    const series: FloatSeries[] = [{ labels: labelsFromRecord({ __name__: "late_metric", job: "late" }), t: Float64Array.from({ length: 100 }, (_, i) => t0 + i * 1000), v: Float64Array.from({ length: 100 }, (_, i) => i) }];
    const partial = writeBlock(series.map((s) => ({ ...s, labels: labelsFromRecord({ __name__: "partial_metric" }) })));
    await uploadWrittenBlock(bucket, partial, { skipMeta: true });
    const late = writeBlock(series, { thanos: { labels: { cluster: "late" } } });
    await uploadWrittenBlock(bucket, late);
    await waitSyncs(1);
    const client = createClient(Store, transports.grpc!());
    const got = await collectSeries(client.series(seriesRequest([["=~", "__name__", "late_metric|partial_metric"]], t0, t0 + 200_000)));
    expect(got.series.map((s) => fmt(s.labels))).toEqual(['{__name__="late_metric", cluster="late", job="late"}']);
    const dec = (await import("../src/wasm/xor.ts")).decodeXorChunksToSeries(wasm, got.series[0]!.chunks.map((c) => c.data));
    expect(Array.from(dec.v)).toEqual(Array.from(series[0]!.v));
    expect(stderr).toContain(`loaded block ${late.ulid}`);
    expect(stderr).not.toContain(`loaded block ${partial.ulid}`);

    // Delete it (meta.json first, as Thanos does): dropped on the next sync.
    await bucket.delete(`${late.ulid}/meta.json`);
    await waitSyncs(1);
    const after = await collectSeries(client.series(seriesRequest([["=", "__name__", "late_metric"]], t0, t0 + 200_000)));
    expect(after.series).toEqual([]);
  });

  it("serves a FILESYSTEM bucket the same way", async () => {
    const fsDir = join(dir, "fs-bucket");
    const fsBucket = createFilesystemBucket(fsDir);
    await uploadFixtureGroup(fsBucket, GROUP);
    writeFileSync(join(dir, "fs.yml"), `type: FILESYSTEM\nconfig:\n  directory: ${fsDir}\n`);
    const fsStore = await startCli(out, join(dir, "fs.yml"), join(dir, "fs-data"), () => {});
    try {
      while ((await fetch(`http://127.0.0.1:${fsStore.httpPort}/-/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
      const client = createClient(Store, createConnectTransport({ baseUrl: `http://127.0.0.1:${fsStore.httpPort}`, useBinaryFormat: true }));
      const ms: M[] = [["=~", "__name__", "demo_.*"]];
      assertMatches(wasm, await collectSeries(client.series(seriesRequest(ms, 1699990000000, 1700030000000))), expectedFor(expected, ms, 1699990000000, 1700030000000));
    } finally {
      const exited = new Promise<number | null>((r) => fsStore.proc.once("exit", r));
      fsStore.proc.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });
});
