import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { compress, uncompress } from "snappyjs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChunkedReadResponseSchema, ReadRequestSchema, ReadRequest_ResponseType, ReadResponseSchema, type ReadRequest } from "../src/gen/prompb/remote_pb.ts";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, SeriesRequestSchema, SeriesResponseSchema, type SeriesResponse } from "../src/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../src/gen/store/storepb/types_pb.ts";
import { compareLabels, labelsFromRecord, type Labels } from "../src/model/labels.ts";
import { STALE_NAN, isStaleMarker } from "../src/model/series.ts";
import { loadWasm } from "../src/runtime/node/load-wasm.ts";
import { createPrometheusClient, formatApiTime, formatSelector, NoExternalLabelsError, parseGoDuration, parseLowestTimestamp } from "../src/sidecar/prometheus-client.ts";
import { createPrometheusState } from "../src/sidecar/prometheus-state.ts";
import { STREAMED_CONTENT_TYPE } from "../src/sidecar/remote-read.ts";
import { createSidecarStoreApi, MAX_INT64, type SeriesStreamStats } from "../src/sidecar/store-api.ts";
import { createMatcher } from "../src/model/matcher.ts";
import { crc32c } from "../src/tsdb/crc32c.ts";
import { encodeXorChunk } from "../src/tsdb/xor-encoder.ts";
import { decodeXorChunksToSeries } from "../src/wasm/xor.ts";

// A Prometheus stand-in on a real socket: what each test configures is served as Prometheus would.
const fake = {
  down: false,
  yaml: "global:\n  external_labels:\n    replica: r0\n    cluster: eu\n",
  stored: [] as { labels: Record<string, string>; t: number[]; v: ArrayLike<number> }[],
  lastRead: undefined as ReadRequest | undefined,
  lastQuery: "",
};
let server: http.Server;
let url: string;

function frame(msg: Uint8Array): Buffer {
  const head: number[] = [];
  let n = msg.length;
  while (n >= 0x80) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(msg));
  return Buffer.concat([Buffer.from(head), crc, msg]);
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on("data", (c: Buffer) => body.push(c));
    req.on("end", () => {
      if (fake.down) return void res.writeHead(503).end("Service Unavailable");
      const u = new URL(req.url!, "http://x");
      const json = (data: unknown) => res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ status: "success", data }));
      switch (u.pathname) {
        case "/api/v1/status/config":
          return json({ yaml: fake.yaml });
        case "/api/v1/status/buildinfo":
          return json({ version: "2.42.0" });
        case "/metrics":
          return void res.end("# TYPE prometheus_tsdb_lowest_timestamp gauge\nprometheus_tsdb_lowest_timestamp 1000\nprometheus_tsdb_lowest_timestamp_seconds 1\n");
        case "/api/v1/series":
          fake.lastQuery = u.search;
          return json(fake.stored.map((s) => s.labels));
        case "/api/v1/labels":
          fake.lastQuery = u.search;
          return json(["__name__", "job"]);
        case "/api/v1/label/job/values":
          fake.lastQuery = u.search;
          return json(["a", "b"]);
        case "/api/v1/read": {
          const rr = fromBinary(ReadRequestSchema, uncompress(new Uint8Array(Buffer.concat(body))));
          fake.lastRead = rr;
          // Prometheus order: sorted by stored labels, external labels merged in (stored ones win).
          const sorted = [...fake.stored].sort((a, b) => compareLabels(labelsFromRecord(a.labels), labelsFromRecord(b.labels)));
          const withExt = (l: Record<string, string>) => [...labelsFromRecord({ replica: "r0", cluster: "eu", ...l })];
          if (rr.acceptedResponseTypes[0] === ReadRequest_ResponseType.STREAMED_XOR_CHUNKS) {
            res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
            for (const s of sorted) {
              const msg = create(ChunkedReadResponseSchema, {
                chunkedSeries: [{ labels: withExt(s.labels), chunks: [{ minTimeMs: BigInt(s.t[0]!), maxTimeMs: BigInt(s.t.at(-1)!), type: 1, data: encodeXorChunk(s.t, s.v instanceof Float64Array ? s.v : new Float64Array(s.v)) }] }],
              });
              res.write(frame(toBinary(ChunkedReadResponseSchema, msg)));
            }
            return void res.end();
          }
          const resp = create(ReadResponseSchema, {
            results: [{ timeseries: sorted.map((s) => ({ labels: withExt(s.labels), samples: s.t.map((t, i) => ({ timestamp: BigInt(t), value: s.v[i]! })) })) }],
          });
          res.writeHead(200, { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" });
          return void res.end(compress(toBinary(ReadResponseSchema, resp)));
        }
        default:
          res.writeHead(404).end("404 page not found");
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  fake.down = false;
  fake.yaml = "global:\n  external_labels:\n    replica: r0\n    cluster: eu\n";
  fake.stored = [];
});

async function readyApi(samplesOnly = false) {
  const client = createPrometheusClient({ url });
  const state = createPrometheusState(client);
  await state.refresh();
  return { api: createSidecarStoreApi({ client, state, samplesOnly }), state };
}

async function frames(it: AsyncIterable<SeriesResponse>): Promise<{ labels: Labels; chunks: Uint8Array[] }[]> {
  const out: { labels: Labels; chunks: Uint8Array[] }[] = [];
  for await (const f of it) {
    const list = f.result.case === "series" ? [f.result.value] : f.result.case === "batch" ? f.result.value.series : [];
    for (const s of list) out.push({ labels: s.labels.map((l) => ({ name: l.name, value: l.value })), chunks: s.chunks.map((c) => c.raw!.data) });
  }
  return out;
}

const signal = new AbortController().signal;
const eq = (name: string, value: string) => ({ type: LabelMatcher_Type.EQ, name, value });

describe("Prometheus state", () => {
  it("is ready after a refresh, unready (not dead) while Prometheus is down, ready again after", async () => {
    const state = createPrometheusState(createPrometheusClient({ url }));
    expect(state.ready).toBe(false);
    await state.refresh();
    expect(state.ready).toBe(true);
    expect(state.externalLabels).toEqual(labelsFromRecord({ cluster: "eu", replica: "r0" }));
    expect(state.minTime).toBe(1000);
    expect(state.version).toBe("2.42.0");
    fake.down = true;
    await expect(state.refresh()).rejects.toThrow(/HTTP 503/);
    expect(state.ready).toBe(false);
    expect(state.externalLabels).toEqual(labelsFromRecord({ cluster: "eu", replica: "r0" }));
    fake.down = false;
    await state.refresh();
    expect(state.ready).toBe(true);
  });

  it("fails with an explanation when Prometheus has no external labels", async () => {
    fake.yaml = "global:\n  scrape_interval: 15s\n";
    const err = await createPrometheusState(createPrometheusClient({ url })).refresh().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoExternalLabelsError);
    expect((err as Error).message).toMatch(/uniquely identifying external labels must be configured/);
  });

  it("parses Prometheus' number and duration formats", () => {
    expect(parseLowestTimestamp("prometheus_tsdb_lowest_timestamp 9.223372036854776e+18\n")).toBe(-Infinity);
    expect(parseLowestTimestamp("prometheus_tsdb_lowest_timestamp_seconds 1.7e+09\n")).toBe(1.7e12);
    expect(() => parseLowestTimestamp("up 1\n")).toThrow(/not found/);
    expect(parseGoDuration("2h")).toBe(7_200_000);
    expect(parseGoDuration("1h30m")).toBe(5_400_000);
    expect(parseGoDuration("0s")).toBe(0);
    expect(formatApiTime(1500)).toBe("1.500");
    expect(formatApiTime(-1500)).toBe("-1.500");
    expect(formatApiTime(-Infinity)).toBe("-292273086-05-16T16:47:06Z");
    expect(formatSelector([createMatcher("=", "job", 'a"b\\'), createMatcher("!=", "x", "")])).toBe('{job="a\\"b\\\\",x!=""}');
  });
});

describe("sidecar StoreAPI", () => {
  it("attaches external labels (winning), passes chunks through and keeps the contract order", async () => {
    fake.stored = [
      { labels: { __name__: "up", a: "1" }, t: [1000, 2000], v: [1, 2] },
      { labels: { __name__: "up", a: "1", b: "1" }, t: [1000], v: [3] },
      { labels: { __name__: "up", cluster: "inner", z: "1" }, t: [1000], v: [4] },
    ];
    const { api } = await readyApi();
    const got = await frames(api.series(create(SeriesRequestSchema, { minTime: 0n, maxTime: 5000n, matchers: [eq("__name__", "up")] }), signal));
    const out = got.map((s) => s.labels);
    expect(out).toEqual([...out].sort(compareLabels));
    expect(out).toEqual([
      labelsFromRecord({ __name__: "up", a: "1", b: "1", cluster: "eu", replica: "r0" }),
      labelsFromRecord({ __name__: "up", a: "1", cluster: "eu", replica: "r0" }),
      labelsFromRecord({ __name__: "up", cluster: "eu", replica: "r0", z: "1" }),
    ]);
    // Chunk bytes exactly as Prometheus sent them.
    expect([...got[1]!.chunks[0]!]).toEqual([...encodeXorChunk([1000, 2000], new Float64Array([1, 2]))]);
    // Only the non-external matcher went to Prometheus, with the request's range (min clamped to Prometheus' min time).
    const q = fake.lastRead!.queries[0]!;
    expect(q.matchers.map((m) => [m.name, m.value])).toEqual([["__name__", "up"]]);
    expect([q.startTimestampMs, q.endTimestampMs]).toEqual([1000n, 5000n]);
  });

  it("strips replica labels and re-sorts; honours limit and batches", async () => {
    fake.stored = Array.from({ length: 10 }, (_, i) => ({ labels: { __name__: "m", i: String(9 - i) }, t: [1000], v: [i] }));
    const { api } = await readyApi();
    const req = (extra: object) => create(SeriesRequestSchema, { minTime: 0n, maxTime: 5000n, matchers: [eq("__name__", "m")], ...extra });
    const stripped = await frames(api.series(req({ withoutReplicaLabels: ["replica"] }), signal));
    expect(stripped.map((s) => s.labels)).toEqual(fake.stored.map((s) => labelsFromRecord({ ...s.labels, cluster: "eu" })).sort(compareLabels));
    expect(await frames(api.series(req({ limit: 3n }), signal))).toHaveLength(3);
    const batched: SeriesResponse[] = [];
    for await (const f of api.series(req({ responseBatchSize: 4n }), signal)) batched.push(f);
    expect(batched.map((f) => (f.result.case === "batch" ? f.result.value.series.length : -1))).toEqual([4, 4, 2]);
  });

  it("streams: what a Series call holds does not grow with the number of series", async () => {
    const client = createPrometheusClient({ url });
    const state = createPrometheusState(client);
    await state.refresh();
    const stats: SeriesStreamStats[] = [];
    const api = createSidecarStoreApi({ client, state, onSeriesStats: (s) => stats.push(s) });
    const run = async (n: number) => {
      // Stored label names sort before the external ones ("cluster", "replica"), so the re-sorter
      // can release each series as the next arrives (see resort.ts).
      fake.stored = Array.from({ length: n }, (_, i) => ({ labels: { __name__: "m", a: String(i).padStart(6, "0") }, t: [1000, 2000, 3000], v: [i, i + 1, i + 2] }));
      let series = 0;
      let answerBytes = 0;
      for await (const f of api.series(create(SeriesRequestSchema, { minTime: 0n, maxTime: 5000n, matchers: [eq("__name__", "m")], responseBatchSize: 64n }), signal)) {
        answerBytes += toBinary(SeriesResponseSchema, f).length;
        series += f.result.case === "batch" ? f.result.value.series.length : 0;
      }
      expect(series).toBe(n);
      return { ...stats.at(-1)!, answerBytes };
    };
    const small = await run(500);
    const big = await run(5000);
    expect(big.largestFrameBytes).toBe(small.largestFrameBytes);
    expect(big.peakBufferedBytes).toBeGreaterThan(0);
    // Ten times the series, about the same buffers (a response frame, a few 16 KiB arena blocks),
    // a small part of the answer.
    expect(big.answerBytes).toBeGreaterThan(9 * small.answerBytes);
    expect(big.peakBufferedBytes).toBeLessThan(small.peakBufferedBytes + 48 * 1024);
    expect(big.peakBufferedBytes).toBeLessThan(big.answerBytes / 4);
  });

  it("settles external-label matchers: mismatch is empty, only-external is InvalidArgument", async () => {
    fake.stored = [{ labels: { __name__: "up" }, t: [1000], v: [1] }];
    const { api } = await readyApi();
    const req = (matchers: ReturnType<typeof eq>[]) => create(SeriesRequestSchema, { minTime: 0n, maxTime: 5000n, matchers });
    expect(await frames(api.series(req([eq("__name__", "up"), eq("cluster", "us")]), signal))).toEqual([]);
    expect(await frames(api.series(req([eq("__name__", "up"), eq("cluster", "eu")]), signal))).toHaveLength(1);
    const err = await frames(api.series(req([eq("cluster", "eu")]), signal)).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    const bad = await frames(api.series(req([{ type: LabelMatcher_Type.RE, name: "x", value: "(" }]), signal)).catch((e: unknown) => e);
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("encodes SAMPLES answers into XOR chunks of at most 120 samples, keeping stale markers", async () => {
    const t = Array.from({ length: 250 }, (_, i) => 1000 + i * 10);
    // A Float64Array: plain JS double arrays may canonicalise NaN payloads.
    const v = new Float64Array(t.map((_, i) => i * 1.5));
    v[249] = STALE_NAN;
    fake.stored = [{ labels: { __name__: "up" }, t, v }];
    const { api } = await readyApi(true);
    const got = await frames(api.series(create(SeriesRequestSchema, { minTime: 0n, maxTime: 9000n, matchers: [eq("__name__", "up")] }), signal));
    expect(fake.lastRead!.acceptedResponseTypes).toEqual([ReadRequest_ResponseType.SAMPLES]);
    expect(got[0]!.chunks.map((c) => (c[0]! << 8) | c[1]!)).toEqual([120, 120, 10]);
    const d = decodeXorChunksToSeries(await loadWasm(), got[0]!.chunks);
    expect([...d.t]).toEqual(t);
    expect(isStaleMarker(d.v[249]!)).toBe(true);
    expect(d.v[10]).toBe(15);
  });

  it("skip_chunks uses /api/v1/series; label APIs add external labels and honour replica labels", async () => {
    fake.stored = [{ labels: { __name__: "up", job: "b" }, t: [1000], v: [1] }, { labels: { __name__: "up", job: "a" }, t: [1000], v: [1] }];
    const { api } = await readyApi();
    const skipped = await frames(api.series(create(SeriesRequestSchema, { minTime: 2000n, maxTime: 3000n, skipChunks: true, matchers: [eq("__name__", "up")] }), signal));
    expect(skipped.map((s) => s.labels)).toEqual([labelsFromRecord({ __name__: "up", cluster: "eu", job: "a", replica: "r0" }), labelsFromRecord({ __name__: "up", cluster: "eu", job: "b", replica: "r0" })]);
    expect(skipped.every((s) => s.chunks.length === 0)).toBe(true);
    expect(new URLSearchParams(fake.lastQuery).get("start")).toBe("2");

    const names = await api.labelNames(create(LabelNamesRequestSchema, { start: 0n, end: 5000n, withoutReplicaLabels: ["replica"] }), signal);
    expect(names.names).toEqual(["__name__", "cluster", "job"]);
    const values = await api.labelValues(create(LabelValuesRequestSchema, { label: "job", start: 0n, end: 5000n, matchers: [eq("__name__", "up")] }), signal);
    expect(values.values).toEqual(["a", "b"]);
    expect(new URLSearchParams(fake.lastQuery).get("match[]")).toBe('{__name__="up"}');
    const ext = await api.labelValues(create(LabelValuesRequestSchema, { label: "cluster", start: 0n, end: 5000n }), signal);
    expect(ext.values).toEqual(["eu"]);
    const mismatch = await api.labelValues(create(LabelValuesRequestSchema, { label: "job", matchers: [eq("cluster", "us")] }), signal);
    expect(mismatch.values).toEqual([]);
    await expect(api.labelValues(create(LabelValuesRequestSchema, { label: "" }), signal)).rejects.toThrow(/cannot be empty/);
  });

  it("Info advertises the sidecar like Thanos; everything is Unavailable before Prometheus answered", async () => {
    const { api } = await readyApi();
    const info = await api.info();
    expect(info.ComponentType).toBe("sidecar");
    expect(info.store).toMatchObject({ minTime: 1000n, maxTime: MAX_INT64, supportsWithoutReplicaLabels: true });
    expect(info.labelSets[0]!.labels.map((l) => l.name)).toEqual(["cluster", "replica"]);
    const client = createPrometheusClient({ url });
    const notYet = createSidecarStoreApi({ client, state: createPrometheusState(client) });
    const err = await notYet.info().catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
  });
});
