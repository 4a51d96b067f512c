import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { compress, uncompress } from "snappyjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChunkedReadResponseSchema, ReadRequestSchema, ReadRequest_ResponseType, ReadResponseSchema } from "../src/gen/prompb/remote_pb.ts";
import { SeriesSchema } from "../src/gen/store/storepb/types_pb.ts";
import { createMatcher } from "../src/model/matcher.ts";
import { encodedChunksBytes } from "../src/sidecar/chunk-arena.ts";
import { remoteRead, STREAMED_CONTENT_TYPE } from "../src/sidecar/remote-read.ts";
import { RemoteReadError } from "../src/sidecar/remote-read-error.ts";
import { readChunkedFrames } from "../src/sidecar/streamed-frames.ts";
import { createNodeHttpPost } from "../src/runtime/node/sidecar.ts";
import { crc32c } from "../src/tsdb/crc32c.ts";

function frame(msg: Uint8Array): Uint8Array {
  const head: number[] = [];
  let n = msg.length;
  while (n >= 0x80) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  const crc = crc32c(msg);
  const out = new Uint8Array(head.length + 4 + msg.length);
  out.set(head);
  new DataView(out.buffer).setUint32(head.length, crc);
  out.set(msg, head.length + 4);
  return out;
}

function seriesFrame(name: string, chunkBytes: number): Uint8Array {
  const data = new Uint8Array(chunkBytes).map((_, i) => i & 0xff);
  const msg = create(ChunkedReadResponseSchema, {
    chunkedSeries: [{ labels: [{ name: "__name__", value: name }], chunks: [{ minTimeMs: 1000n, maxTimeMs: 2000n, type: 1, data }] }],
  });
  return frame(toBinary(ChunkedReadResponseSchema, msg));
}

let server: http.Server;
let base: string;
let lastRequest: Uint8Array | undefined;
// Each test sets what the server does with the next request.
let handler: (res: http.ServerResponse) => void = () => {};

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      lastRequest = new Uint8Array(Buffer.concat(parts));
      handler(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const query = { start: 0, end: 10_000, matchers: [createMatcher("=", "__name__", "up")] };

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

// Both HTTP clients: fetch (every runtime) and the Node runner's node:http POST.
describe.each([
  { client: "fetch", post: undefined },
  { client: "node:http", post: createNodeHttpPost() },
])("remoteRead over $client", ({ post }) => {
  it("sends a snappy ReadRequest preferring streamed chunks and parses frames split at every byte", async () => {
    const body = Buffer.concat([seriesFrame("a", 10), seriesFrame("b", 300), seriesFrame("c", 70_000)]);
    handler = (res) => {
      res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
      // Tiny writes, so frame headers and bodies straddle network reads.
      let i = 0;
      const step = () => {
        if (i >= body.length) return res.end();
        const n = i < 400 ? 1 : 4096;
        res.write(body.subarray(i, i + n), step);
        i += n;
      };
      step();
    };
    const result = await remoteRead({ url: base, query, post });
    expect(result.type).toBe("chunks");
    const frames = result.type === "chunks" ? (await collect(result.frameBatches)).flat() : [];
    expect(frames.map((f) => f.series[0]!.labels[0]!.value)).toEqual(["a", "b", "c"]);
    const chunks = fromBinary(SeriesSchema, encodedChunksBytes(frames[2]!.series[0]!.chunks)).chunks;
    expect(chunks[0]!.raw!.data.length).toBe(70_000);
    expect(chunks[0]!.raw!.data[300]).toBe(300 & 0xff);
    expect([chunks[0]!.minTime, chunks[0]!.maxTime]).toEqual([1000n, 2000n]);

    const req = fromBinary(ReadRequestSchema, uncompress(lastRequest!));
    expect(req.acceptedResponseTypes).toEqual([ReadRequest_ResponseType.STREAMED_XOR_CHUNKS, ReadRequest_ResponseType.SAMPLES]);
    expect(req.queries[0]!.endTimestampMs).toBe(10_000n);
    expect(req.queries[0]!.matchers[0]!.value).toBe("up");
    expect(req.queries[0]!.hints).toBeUndefined();
  });

  it("rejects a frame whose CRC does not match", async () => {
    const bad = seriesFrame("a", 50);
    bad[bad.length - 1]! ^= 1;
    handler = (res) => {
      res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
      res.end(Buffer.concat([seriesFrame("ok", 5), bad]));
    };
    const result = await remoteRead({ url: base, query, post });
    if (result.type !== "chunks") throw new Error("expected chunks");
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const b of result.frameBatches) for (const f of b) got.push(f.series[0]!.labels[0]!.value);
      })(),
    ).rejects.toThrow(/frame 1 at offset \d+: CRC32C mismatch/);
    expect(got).toEqual(["ok"]);
  });

  it("fails when the server goes away inside a frame", async () => {
    const f = seriesFrame("a", 5000);
    handler = (res) => {
      res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
      res.write(f.subarray(0, 2000), () => res.socket?.destroy());
    };
    const result = await remoteRead({ url: base, query, post });
    if (result.type !== "chunks") throw new Error("expected chunks");
    const err = await collect(result.frameBatches).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect(String((err as Error).message)).toMatch(/frame 0 at offset 0/);
  });

  it("fails when the server goes away between two frames (chunked body cut off)", async () => {
    handler = (res) => {
      res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
      res.write(Buffer.concat([seriesFrame("a", 5), seriesFrame("b", 5)]), () => res.socket?.destroy());
    };
    const result = await remoteRead({ url: base, query, post });
    if (result.type !== "chunks") throw new Error("expected chunks");
    const got: string[] = [];
    const err = await (async () => {
      for await (const b of result.frameBatches) for (const f of b) got.push(f.series[0]!.labels[0]!.value);
    })().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteReadError);
    expect(got).toEqual(["a", "b"]);
  });

  it("asks for an uncompressed answer", async () => {
    let acceptEncoding: string | undefined;
    handler = (res) => {
      acceptEncoding = res.req.headers["accept-encoding"];
      res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
      res.end(seriesFrame("a", 5));
    };
    const result = await remoteRead({ url: base, query, post });
    if (result.type === "chunks") await collect(result.frameBatches);
    expect(acceptEncoding).toBe("identity");
  });

  it("fails on an error text appended after frames (Prometheus' http.Error mid-stream)", async () => {
    handler = (res) => {
      res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
      res.end(Buffer.concat([seriesFrame("a", 5), Buffer.from("context canceled\n")]));
    };
    const result = await remoteRead({ url: base, query, post });
    if (result.type !== "chunks") throw new Error("expected chunks");
    await expect(collect(result.frameBatches)).rejects.toThrow(RemoteReadError);
  });

  it("rejects frames above the size limit", async () => {
    handler = (res) => {
      res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
      res.end(seriesFrame("a", 2000));
    };
    const result = await remoteRead({ url: base, query, post, maxFrameBytes: 1000 });
    if (result.type !== "chunks") throw new Error("expected chunks");
    await expect(collect(result.frameBatches)).rejects.toThrow(/exceeds the limit of 1000 bytes/);
  });

  it("falls back to SAMPLES by content type", async () => {
    const resp = create(ReadResponseSchema, {
      results: [{ timeseries: [{ labels: [{ name: "__name__", value: "up" }], samples: [{ timestamp: 5n, value: 1.5 }] }] }],
    });
    handler = (res) => {
      res.writeHead(200, { "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" });
      res.end(compress(toBinary(ReadResponseSchema, resp)));
    };
    const result = await remoteRead({ url: base, query, post, samplesOnly: true });
    expect(result.type).toBe("samples");
    if (result.type === "samples") expect(result.response.results[0]!.timeseries[0]!.samples[0]!.value).toBe(1.5);
    expect(fromBinary(ReadRequestSchema, uncompress(lastRequest!)).acceptedResponseTypes).toEqual([ReadRequest_ResponseType.SAMPLES]);
  });

  it("turns HTTP errors and unknown content types into errors carrying the body", async () => {
    handler = (res) => {
      res.writeHead(400, { "Content-Type": "text/plain" });
      res.end("snappy: corrupt input\n");
    };
    await expect(remoteRead({ url: base, query, post })).rejects.toThrow(/HTTP 400: snappy: corrupt input/);
    handler = (res) => {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<html>");
    };
    await expect(remoteRead({ url: base, query, post })).rejects.toThrow(/unexpected content type "text\/html"/);
  });

  it("treats an empty streamed body as zero series", async () => {
    const empty = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    expect(await collect(readChunkedFrames(empty))).toEqual([]);
  });
});
