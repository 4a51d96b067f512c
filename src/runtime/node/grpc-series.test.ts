/**
 * The native gRPC Series fast path against the Connect gRPC path it bypasses: a raw HTTP/2 client
 * (what grpc-go in a Thanos querier sends) gets the same message bytes, status codes and messages
 * from both; the Connect path is reached with `grpc-encoding: gzip` on an uncompressed message,
 * which the fast path leaves to Connect. Also: auth, deadlines, cancellation, metrics, big frames.
 */
import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeriesRequestSchema, Store } from "../../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest, SeriesResponse } from "../../gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../../gen/store/storepb/types_pb.ts";
import { labelsFromRecord } from "../../model/labels.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import type { StoreApi } from "../../server/store-api.ts";
import { createTestStore } from "../../server/test-store.ts";
import { storeSeriesOf } from "../../store/chunk-table.ts";
import { createStoreFrameBuilder } from "../../store/series-frames.ts";
import { startGrpcServer, type RunningServer } from "./serve.ts";

const enc = new TextEncoder();
const TOKEN = "t0ken";

/** A store sending pre-encoded (in-place framed) batches like the store gateway, plus a warning and hints. */
function preEncodedStore(n: number, chunkBytes: number): StoreApi {
  const base = createTestStore({ series: [] });
  return {
    ...base,
    async *series(req: SeriesRequest): AsyncIterable<SeriesResponse> {
      yield { $typeName: "thanos.SeriesResponse", result: { case: "warning", value: "block X could not be loaded: zürich" } };
      const b = createStoreFrameBuilder(Number(req.responseBatchSize) || 1);
      for (let i = 0; i < n; i++) {
        const s = storeSeriesOf(labelsFromRecord({ __name__: "m", i: String(i).padStart(5, "0") }), [
          { mint: 1_700_000_000_000 + i, maxt: 1_700_000_100_000 + i, encoding: 1, data: new Uint8Array(chunkBytes).fill(i & 0xff), hashLo: i * 7919, hashHi: 0xfffffff0 },
        ]);
        const f = b.add(s);
        if (f) yield f;
      }
      const f = b.flush();
      if (f) yield f;
    },
  };
}

const testStore = createTestStore({
  externalLabels: { cluster: "eu" },
  series: [
    { labels: { __name__: "up", job: "a" }, chunks: [{ minTime: 0, maxTime: 100, data: enc.encode("c1"), hash: 11n }] },
    { labels: { __name__: "up", job: "b" }, chunks: [{ minTime: 0, maxTime: 100, data: enc.encode("c2") }] },
  ],
  beforeFrame: (i, signal) => {
    if (failAfterFirst && i === 1) throw new ConnectError("store went away: 50% done", Code.Unavailable);
    if (hang && i === 1) return new Promise((resolve) => signal.addEventListener("abort", () => { aborted = true; resolve(); }, { once: true }));
  },
});
let failAfterFirst = false;
let hang = false;
let aborted = false;

const metrics = createMetricsRegistry();
let plain: RunningServer;
let big: RunningServer;
let authed: RunningServer;

beforeAll(async () => {
  plain = await startGrpcServer({ address: "127.0.0.1:0", storeApi: testStore, metrics });
  big = await startGrpcServer({ address: "127.0.0.1:0", storeApi: preEncodedStore(300, 5000) });
  authed = await startGrpcServer({ address: "127.0.0.1:0", storeApi: testStore, bearerToken: TOKEN });
});

afterAll(async () => {
  await Promise.all([plain?.close(1000), big?.close(1000), authed?.close(1000)]);
});

interface RawResult {
  status: string | undefined;
  message: string | undefined;
  /** The response's gRPC messages (without their 5-byte prefixes). */
  messages: Buffer[];
  trailersOnly: boolean;
}

function envelope(req: SeriesRequest): Buffer {
  const msg = toBinary(SeriesRequestSchema, req);
  const b = Buffer.alloc(5 + msg.length);
  b.writeUInt32BE(msg.length, 1);
  b.set(msg, 5);
  return b;
}

/** One Series call from a bare HTTP/2 client, as grpc-go sends it. `viaConnect` forces the Connect path. */
function rawCall(port: number, req: SeriesRequest, opts: { viaConnect?: boolean; headers?: Record<string, string>; cancelAfterFirst?: boolean; slow?: boolean } = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": "/thanos.Store/Series",
      "content-type": "application/grpc",
      te: "trailers",
      ...(opts.viaConnect ? { "grpc-encoding": "gzip" } : {}),
      ...opts.headers,
    });
    const data: Buffer[] = [];
    const out: RawResult = { status: undefined, message: undefined, messages: [], trailersOnly: false };
    stream.on("response", (h) => {
      if (h["grpc-status"] !== undefined) {
        out.trailersOnly = true;
        out.status = String(h["grpc-status"]);
        out.message = h["grpc-message"] === undefined ? undefined : decodeURIComponent(String(h["grpc-message"]));
      }
    });
    stream.on("trailers", (t) => {
      out.status = String(t["grpc-status"]);
      out.message = t["grpc-message"] === undefined ? undefined : decodeURIComponent(String(t["grpc-message"]));
    });
    stream.on("data", (d: Buffer) => {
      data.push(d);
      // A slow reader: flow control makes the server wait for 'drain' with frames still queued.
      if (opts.slow && data.length % 8 === 0) {
        stream.pause();
        setTimeout(() => stream.resume(), 5);
      }
      if (opts.cancelAfterFirst && data.length === 1) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    stream.on("error", reject);
    stream.on("close", () => {
      session.close();
      const all = Buffer.concat(data);
      for (let p = 0; p + 5 <= all.length; ) {
        const len = all.readUInt32BE(p + 1);
        const msg = all.subarray(p + 5, p + 5 + len);
        // The Connect path answers a gzip request with gzip messages (flag 1) above 1 KiB.
        out.messages.push(all[p] === 1 ? gunzipSync(msg) : msg);
        p += 5 + len;
      }
      resolve(out);
    });
    stream.end(envelope(req));
  });
}

const upReq = create(SeriesRequestSchema, { minTime: 0n, maxTime: 1000n, matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "up" }] });

describe("gRPC Series fast path", () => {
  it("sends the same message bytes as the Connect path (ordinary frames)", async () => {
    const fast = await rawCall(plain.port, upReq);
    const slow = await rawCall(plain.port, upReq, { viaConnect: true });
    expect(fast.status).toBe("0");
    expect(slow.status).toBe("0");
    expect(fast.messages.length).toBe(2); // two series
    expect(fast.messages).toEqual(slow.messages);
  });

  it("sends the same message bytes as the Connect path (pre-encoded batches framed in place, big frames, backpressure)", async () => {
    const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 1n, responseBatchSize: 64n });
    const fast = await rawCall(big.port, req);
    const slow = await rawCall(big.port, req, { viaConnect: true });
    expect(fast.status).toBe("0");
    expect(fast.messages.length).toBe(1 + 5); // warning + ceil(300 / 64) batches
    expect(fast.messages.reduce((n, m) => n + m.length, 0)).toBeGreaterThan(1_500_000);
    // Compared as hex digests of lengths + first difference: a 1.5 MB deep-equal diff is unreadable.
    const firstDiff = (a: Buffer, b: Buffer): number => { for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i; return -1; };
    expect(fast.messages.map((m, i) => [m.length, firstDiff(m, slow.messages[i]!)])).toEqual(slow.messages.map((m) => [m.length, -1]));
    // And a Connect client decodes it.
    const client = createClient(Store, createGrpcTransport({ baseUrl: `http://127.0.0.1:${big.port}` }));
    let series = 0;
    for await (const f of client.series(req)) if (f.result.case === "batch") series += f.result.value.series.length;
    expect(series).toBe(300);
  });

  it("reuses frame buffers only after they were written: a long stream to a slow reader arrives intact", async () => {
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: preEncodedStore(2000, 700) });
    try {
      const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 1n, responseBatchSize: 64n });
      const results = await Promise.all([rawCall(server.port, req, { slow: true }), rawCall(server.port, req), rawCall(server.port, req, { viaConnect: true })]);
      const [slow, fast, viaConnect] = results;
      expect(slow.status).toBe("0");
      expect(slow.messages.length).toBe(1 + Math.ceil(2000 / 64));
      // Every batch holds its own series (chunk bytes filled with the series number), so a buffer
      // reused too early would show another batch's bytes here.
      const firstDiff = (a: Buffer, b: Buffer): number => { for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i; return -1; };
      for (const other of [fast, viaConnect]) {
        expect(slow.messages.map((m, i) => [m.length, firstDiff(m, other.messages[i]!)])).toEqual(other.messages.map((m) => [m.length, -1]));
      }
    } finally {
      await server.close(1000);
    }
  });

  it("ends with the same status codes and messages as the Connect path", async () => {
    const cases: SeriesRequest[] = [
      create(SeriesRequestSchema, { matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: "(" }] }),
      create(SeriesRequestSchema, { matchers: [{ name: "__limit_test__", value: "x" }] }),
    ];
    for (const req of cases) {
      const fast = await rawCall(plain.port, req);
      const slow = await rawCall(plain.port, req, { viaConnect: true });
      expect(fast.status).not.toBe("0");
      expect({ status: fast.status, message: fast.message }).toEqual({ status: slow.status, message: slow.message });
    }
    failAfterFirst = true;
    try {
      const fast = await rawCall(plain.port, upReq);
      const slow = await rawCall(plain.port, upReq, { viaConnect: true });
      expect(fast.status).toBe(String(Code.Unavailable));
      expect(fast.message).toBe("store went away: 50% done");
      expect(fast.trailersOnly).toBe(false);
      expect(fast.messages.length).toBe(1);
      expect({ status: fast.status, message: fast.message, messages: fast.messages }).toEqual({ status: slow.status, message: slow.message, messages: slow.messages });
    } finally {
      failAfterFirst = false;
    }
  });

  it("rejects malformed requests with InvalidArgument", async () => {
    const bad = await new Promise<RawResult>((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${plain.port}`);
      const s = session.request({ ":method": "POST", ":path": "/thanos.Store/Series", "content-type": "application/grpc", te: "trailers" });
      const out: RawResult = { status: undefined, message: undefined, messages: [], trailersOnly: true };
      s.on("response", (h) => { out.status = String(h["grpc-status"]); out.message = decodeURIComponent(String(h["grpc-message"])); });
      s.on("error", reject);
      s.on("close", () => { session.close(); resolve(out); });
      s.resume();
      s.end(Buffer.from([0, 0, 0, 0, 9, 1, 2]));
    });
    expect(bad.status).toBe(String(Code.InvalidArgument));
    expect(bad.message).toMatch(/promised 9 bytes/);
  });

  it("checks the bearer token (trailers-only Unauthenticated) and accepts the right one", async () => {
    const denied = await rawCall(authed.port, upReq, { headers: { authorization: "Bearer nope" } });
    expect(denied).toMatchObject({ status: String(Code.Unauthenticated), message: "unauthenticated", trailersOnly: true, messages: [] });
    const ok = await rawCall(authed.port, upReq, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe("0");
    expect(ok.messages.length).toBe(2);
  });

  it("honours grpc-timeout with DeadlineExceeded and aborts the store's signal", async () => {
    hang = true;
    aborted = false;
    try {
      const r = await rawCall(plain.port, upReq, { headers: { "grpc-timeout": "50m" } });
      expect({ status: r.status, message: r.message }).toEqual({ status: String(Code.DeadlineExceeded), message: "the operation timed out" });
      expect(aborted).toBe(true);
      const invalid = await rawCall(plain.port, upReq, { headers: { "grpc-timeout": "soon" } });
      expect(invalid.status).toBe(String(Code.InvalidArgument));
    } finally {
      hang = false;
    }
  });

  it("aborts the store's signal when the client resets the stream, and counts the call as Canceled", async () => {
    hang = true;
    aborted = false;
    try {
      await rawCall(plain.port, upReq, { cancelAfterFirst: true });
      for (let i = 0; i < 100 && !aborted; i++) await new Promise((r) => setTimeout(r, 10));
      expect(aborted).toBe(true);
    } finally {
      hang = false;
    }
    // The server records the call once its handler has unwound.
    let text = "";
    for (let i = 0; i < 100; i++) {
      text = metrics.render();
      if (/grpc_code="Canceled"/.test(text)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(text).toMatch(/grpc_server_handled_total\{grpc_type="server_stream",grpc_service="thanos.Store",grpc_method="Series",grpc_code="Canceled"\} 1/);
    expect(text).toMatch(/grpc_server_handled_total\{grpc_type="server_stream",grpc_service="thanos.Store",grpc_method="Series",grpc_code="OK"\} [1-9]/);
    expect(text).toMatch(/grpc_server_started_total\{grpc_type="server_stream",grpc_service="thanos.Store",grpc_method="Series"\} [1-9]/);
  });

  it("a Connect gRPC client sees the fast path's errors as ConnectErrors with code and message", async () => {
    const client = createClient(Store, createGrpcTransport({ baseUrl: `http://127.0.0.1:${plain.port}` }));
    const err = await (async () => {
      for await (const _ of client.series(create(SeriesRequestSchema, { matchers: [{ name: "__limit_test__", value: "x" }] }))) void _;
    })().then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.rawMessage.length).toBeGreaterThan(0);
  });
});
