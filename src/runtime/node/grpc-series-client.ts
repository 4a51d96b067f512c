/**
 * Native gRPC `thanos.Store/Series` client without Connect's stream machinery: one HTTP/2 stream
 * from the endpoint's session manager (same sessions, windows, keepalive pings and GOAWAY handling
 * as the Connect transport), the request written as one gRPC message, and response messages cut
 * straight out of the DATA chunks and decoded by the fast series codec. Connect wraps every
 * response chunk in several async-iterator layers and builds an abort controller, a DOMException
 * and a ConnectError per call; for the many small Series calls of dashboard queries that fixed
 * cost was a noticeable part of the querier's CPU. Status codes, messages and errors are Connect's
 * (the same validation helpers), so callers cannot tell the two paths apart.
 */
import http2 from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import type { Http2SessionManager } from "@connectrpc/connect-node";
import { RawSeriesResponseSchema } from "../../gen/meridian/rawpb/raw_pb.ts";
import { SeriesRequestSchema } from "../../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest, SeriesResponse } from "../../gen/store/storepb/rpc_pb.ts";
import { concatBytes } from "../../model/bytes.ts";
import { fromRawSeriesResponse } from "../../server/raw-series.ts";
import type { SeriesCallOptions } from "../../query/store-client.ts";

/** Path of the Series method. */
const SERIES_PATH = "/thanos.Store/Series";
/** Decoded frames queued before the stream is paused (HTTP/2 flow control then holds the rest). */
const MAX_QUEUED = 4;

const H2_NAMES: Record<number, string> = {
  0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR", 0x3: "FLOW_CONTROL_ERROR", 0x4: "SETTINGS_TIMEOUT", 0x6: "FRAME_SIZE_ERROR",
  0x7: "REFUSED_STREAM", 0x8: "CANCEL", 0x9: "COMPRESSION_ERROR", 0xa: "CONNECT_ERROR", 0xb: "ENHANCE_YOUR_CALM",
  0xc: "INADEQUATE_SECURITY", 0xd: "HTTP_1_1_REQUIRED",
};

/** The gRPC code of an RST_STREAM (gRPC's HTTP/2 mapping, worded as connect-node words it). */
function errorFromResetCode(rst: number | undefined): ConnectError | undefined {
  if (rst === undefined) return undefined;
  const name = H2_NAMES[rst];
  if (name === undefined) return undefined; // NO_ERROR, STREAM_CLOSED: not errors by themselves
  const code = rst === 0x7 ? Code.Unavailable : rst === 0x8 ? Code.Canceled : rst === 0xb ? Code.ResourceExhausted
    : rst === 0xc || rst === 0xd ? Code.PermissionDenied : Code.Internal;
  return new ConnectError(`http/2 stream closed with error code ${name} (0x${rst.toString(16)})`, code);
}

/** A Node error as a ConnectError, with connect-node's codes for resets and unreachable hosts. */
function errorFromNode(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const codes = new Set<string>();
  for (let e: unknown = err; e instanceof Error && codes.size < 8; e = e.cause) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === "string") codes.add(c);
  }
  let code = Code.Internal;
  if (codes.has("ERR_STREAM_WRITE_AFTER_END") || codes.has("ERR_STREAM_DESTROYED") || codes.has("ERR_HTTP2_INVALID_STREAM") || codes.has("ECONNRESET")) code = Code.Aborted;
  else if (codes.has("ETIMEDOUT") || codes.has("ENOTFOUND") || codes.has("EAI_AGAIN") || codes.has("ECONNREFUSED")) code = Code.Unavailable;
  const ce = ConnectError.from(err, code);
  if (ce !== err) ce.cause = err;
  return ce;
}

/** Node's incoming headers as web Headers, pseudo-headers left out. */
function webHeaders(h: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const k in h) {
    if (k.charCodeAt(0) === 58 /* ':' */) continue;
    const v = h[k];
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else if (v !== undefined) out.append(k, String(v));
  }
  return out;
}

/** Request body: one uncompressed gRPC message. */
function envelope(req: SeriesRequest): Uint8Array {
  const msg = toBinary(SeriesRequestSchema, req);
  const out = new Uint8Array(5 + msg.length);
  new DataView(out.buffer).setUint32(1, msg.length);
  out.set(msg, 5);
  return out;
}

/**
 * Creates the Series call for one endpoint: `call(req, opts)` streams the store's frames, decoded,
 * and fails with the ConnectError the Connect transport would raise. Iteration ending early
 * (`return()`) or `opts.signal` cancels the HTTP/2 stream (RST_STREAM CANCEL).
 */
export function createGrpcSeriesCall(sessionManager: Http2SessionManager, userAgent = "connect-es/2.1.2") {
  return function series(req: SeriesRequest, opts: SeriesCallOptions = {}): AsyncIterable<SeriesResponse> {
    return { [Symbol.asyncIterator]: () => openCall(sessionManager, userAgent, req, opts) };
  };
}

function openCall(sm: Http2SessionManager, userAgent: string, req: SeriesRequest, opts: SeriesCallOptions): AsyncIterator<SeriesResponse> {
  const queue: SeriesResponse[] = [];
  let failure: ConnectError | undefined;
  let ended = false; // every frame queued and the status was OK
  let finished = false; // no more events will change the state
  let wake: (() => void) | undefined;
  let stream: http2.ClientHttp2Stream | undefined;
  let responseHeaders: Headers | undefined;
  let trailersOnly = false;
  let trailers: Headers | undefined;
  let pending: Uint8Array[] = []; // bytes of an incomplete message
  let pendingBytes = 0;
  const signal = opts.signal;

  const notify = (): void => { const w = wake; wake = undefined; w?.(); };
  const fail = (err: unknown): void => {
    if (finished) return;
    finished = true;
    failure = errorFromNode(err);
    cleanup();
    if (stream && !stream.closed) stream.close(failure.code === Code.Canceled ? http2.constants.NGHTTP2_CANCEL : http2.constants.NGHTTP2_INTERNAL_ERROR);
    notify();
  };
  const onAbort = (): void => fail(ConnectError.from(signal?.reason, Code.Canceled));
  const cleanup = (): void => signal?.removeEventListener("abort", onAbort);

  // Cuts complete gRPC messages out of the received bytes (one copy only for messages split over chunks).
  const onData = (chunk: Buffer): void => {
    if (finished) return;
    sm.notifyResponseByteRead(stream!);
    // A plain Uint8Array view: decoded chunk data are views into it, and Buffer's slice() would not copy.
    let buf = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
    if (pendingBytes > 0) {
      pending.push(buf);
      const total = pendingBytes + buf.length;
      if (total < 5 || total < 5 + lengthOf(pending)) { pendingBytes = total; return; }
      buf = concatBytes(pending, total);
      pending = [];
      pendingBytes = 0;
    }
    let pos = 0;
    while (buf.length - pos >= 5) {
      const flags = buf[pos]!;
      const n = ((buf[pos + 1]! << 24) >>> 0) + (buf[pos + 2]! << 16) + (buf[pos + 3]! << 8) + buf[pos + 4]!;
      if (buf.length - pos - 5 < n) break;
      if (flags & 1) return fail(new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal));
      const msg = buf.subarray(pos + 5, pos + 5 + n);
      pos += 5 + n;
      let frame: SeriesResponse;
      try {
        frame = fromRawSeriesResponse(fromBinary(RawSeriesResponseSchema, msg));
      } catch (err) {
        return fail(ConnectError.from(err, Code.Internal));
      }
      queue.push(frame);
    }
    if (pos < buf.length) {
      pending = [buf.subarray(pos)];
      pendingBytes = buf.length - pos;
    }
    if (queue.length >= MAX_QUEUED) stream!.pause();
    notify();
  };

  const onEnd = (): void => {
    if (finished) return;
    try {
      if (pendingBytes > 0) throw new ConnectError(`protocol error: incomplete envelope (${pendingBytes} bytes left at the end of the stream)`, Code.Internal);
      if (!trailersOnly) validateTrailer(trailers ?? new Headers(), responseHeaders ?? new Headers());
    } catch (err) {
      return fail(err);
    }
    finished = true;
    ended = true;
    cleanup();
    notify();
  };

  const start = async (): Promise<void> => {
    const headers: http2.OutgoingHttpHeaders = {
      ...opts.headers,
      "content-type": "application/grpc+proto",
      "user-agent": opts.headers?.["user-agent"] ?? userAgent,
      te: "trailers",
    };
    const s = await sm.request("POST", SERIES_PATH, headers, {});
    stream = s;
    if (finished) { // canceled while the stream was being opened
      s.close(http2.constants.NGHTTP2_CANCEL);
      return;
    }
    s.on("response", (h) => {
      try {
        responseHeaders = webHeaders(h);
        const status = Number(h[":status"]);
        const v = validateResponse(status, responseHeaders);
        if (v.headerError) throw v.headerError;
        trailersOnly = v.foundStatus;
        const enc = responseHeaders.get("grpc-encoding");
        if (enc !== null && enc.toLowerCase() !== "identity") throw new ConnectError(`unsupported response encoding "${enc}"`, Code.Internal, responseHeaders);
      } catch (err) {
        fail(err);
      }
    });
    s.on("trailers", (h) => { trailers = webHeaders(h); });
    s.on("data", onData);
    s.on("end", onEnd);
    s.on("error", (err) => {
      // The server may answer and end the stream before all the request was written.
      if (s.writableEnded && (err as { code?: string }).code === "ERR_STREAM_WRITE_AFTER_END") return;
      fail(err);
    });
    s.on("close", () => {
      const err = errorFromResetCode(s.rstCode);
      if (err) fail(err);
      else if (!finished) fail(new ConnectError("protocol error: stream closed before its status arrived", Code.Internal));
    });
    s.end(envelope(req));
  };

  if (signal?.aborted) onAbort();
  else {
    signal?.addEventListener("abort", onAbort, { once: true });
    start().catch(fail);
  }

  return {
    async next(): Promise<IteratorResult<SeriesResponse>> {
      for (;;) {
        if (queue.length > 0) {
          const value = queue.shift()!;
          if (queue.length < MAX_QUEUED && stream?.isPaused()) stream.resume();
          return { done: false, value };
        }
        if (failure) throw failure;
        if (ended) return { done: true, value: undefined };
        await new Promise<void>((r) => { wake = r; });
      }
    },
    async return(): Promise<IteratorResult<SeriesResponse>> {
      if (!finished) fail(new ConnectError("the caller stopped reading the Series stream", Code.Canceled));
      queue.length = 0;
      return { done: true, value: undefined };
    },
  };
}

/** Length announced by the (possibly split) 5-byte prefix of the pending bytes. */
function lengthOf(parts: readonly Uint8Array[]): number {
  const head = new Uint8Array(5);
  let k = 0;
  for (const p of parts) for (let i = 0; i < p.length && k < 5; i++) head[k++] = p[i]!;
  return ((head[1]! << 24) >>> 0) + (head[2]! << 16) + (head[3]! << 8) + head[4]!;
}

