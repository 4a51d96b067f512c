/**
 * Prometheus remote-read client (`POST /api/v1/read`). Asks for STREAMED_XOR_CHUNKS first and
 * SAMPLES as the fallback, then tells which one came back by Content-Type. The streamed answer is
 * parsed frame by frame from the response body (uvarint length, big-endian CRC32C, message), so
 * at most one frame plus one network read is held in memory. A CRC mismatch, an oversize frame or
 * a body that ends inside a frame is an error: a cut-off stream must never look complete.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { uncompress } from "snappyjs";
import { ReadRequest_ResponseType, ReadResponseSchema, type ReadResponse } from "../gen/prompb/remote_pb.ts";
import { decodeChunkedReadResponses, readDecodedFrames, type DecodeBufferStats, type FrameReader } from "./decoded-frames.ts";
import type { DecodedChunkedReadResponse } from "./chunked-decoder.ts";
import { createFetchPost, readAll, readText, type HttpPost, type HttpPostResponse } from "./http-post.ts";
import { encodeReadRequest, type RemoteReadQuery } from "./read-request.ts";
import { RemoteReadError } from "./remote-read-error.ts";

/** Content-Type of the STREAMED_XOR_CHUNKS answer. */
export const STREAMED_CONTENT_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/** What Prometheus sent back. */
export type RemoteReadResult =
  | {
      readonly type: "chunks";
      /** The frames in arrays, one per network read. Use either this or `frameReaders`, once. */
      readonly frameBatches: AsyncIterable<DecodedChunkedReadResponse[]>;
      /** The frames decoded on demand, one reader per network read (see {@link readDecodedFrames}). */
      readonly frameReaders: AsyncIterable<FrameReader>;
    }
  | { readonly type: "samples"; readonly response: ReadResponse };

/** Options of {@link remoteRead}. */
export interface RemoteReadOptions {
  /** Prometheus base URL. */
  readonly url: string;
  readonly query: RemoteReadQuery;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /**
   * Sends the POST instead of `fetch` (a runtime's own HTTP client, which can hand the body over
   * without Web-stream overhead); see {@link HttpPost}.
   */
  readonly post?: HttpPost;
  /** Ask for SAMPLES only (tests of the fallback path). */
  readonly samplesOnly?: boolean;
  readonly maxFrameBytes?: number;
  readonly userAgent?: string;
  /** Updated while a streamed answer is decoded (memory figures). */
  readonly stats?: DecodeBufferStats;
}

/**
 * Runs one remote-read query. Resolves once the response headers arrived; for streamed answers
 * the frames are read lazily from the body as the caller iterates.
 */
export async function remoteRead(opts: RemoteReadOptions): Promise<RemoteReadResult> {
  const url = `${opts.url.replace(/\/+$/, "")}/api/v1/read`;
  const types = opts.samplesOnly
    ? [ReadRequest_ResponseType.SAMPLES]
    : [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS, ReadRequest_ResponseType.SAMPLES];
  const post = opts.post ?? createFetchPost(opts.fetch);
  let res: HttpPostResponse;
  try {
    res = await post(url, encodeReadRequest([opts.query], types), {
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "X-Prometheus-Remote-Read-Version": "0.1.0",
      "User-Agent": opts.userAgent ?? "Meridian-sidecar",
      // Prometheus gzips API answers for clients that accept it. Next to Prometheus that costs
      // both processes far more CPU than it saves (XOR chunks hardly compress), so ask for none.
      "Accept-Encoding": "identity",
    }, opts.signal);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new RemoteReadError(`remote read from ${url} failed: ${(err as Error).message}`);
  }
  if (res.status < 200 || res.status > 299) {
    const text = (await readText(res.body, res.transient).catch(() => "")).trim().slice(0, 1000);
    throw new RemoteReadError(`remote read from ${url}: HTTP ${res.status}: ${text}`, res.status);
  }
  const contentType = res.header("content-type") ?? "";
  if (contentType.startsWith("application/x-streamed-protobuf")) {
    if (!contentType.includes("proto=prometheus.ChunkedReadResponse")) {
      res.cancel();
      throw new RemoteReadError(`remote read from ${url}: unsupported streamed content type ${JSON.stringify(contentType)}`);
    }
    const decodeOpts = { maxFrameBytes: opts.maxFrameBytes, source: url, ...(opts.stats ? { stats: opts.stats } : {}) };
    // Both are lazy: only the one the caller iterates reads the body.
    return { type: "chunks", frameBatches: decodeChunkedReadResponses(res.body, decodeOpts), frameReaders: readDecodedFrames(res.body, decodeOpts) };
  }
  if (contentType.startsWith("application/x-protobuf")) {
    const compressed = await readAll(res.body, res.transient);
    let raw: Uint8Array;
    try {
      raw = uncompress(compressed);
    } catch (err) {
      throw new RemoteReadError(`remote read from ${url}: SAMPLES response is not valid snappy: ${(err as Error).message}`);
    }
    return { type: "samples", response: fromBinary(ReadResponseSchema, raw) };
  }
  res.cancel();
  throw new RemoteReadError(`remote read from ${url}: unexpected content type ${JSON.stringify(contentType)}`);
}
