/**
 * The native gRPC fast path for `thanos.Store/Series` with binary protobuf: the store's frames go
 * to the HTTP/2 stream as single writes of complete gRPC messages (grpcSeriesFrame: pre-encoded
 * frames framed in place, without the RawSeriesResponse re-encode and envelope copies of the
 * Connect path). Same wire bytes, status codes, messages, bearer-token check, tenant header,
 * grpc-timeout, cancellation and `grpc_server_*` metrics as the Connect gRPC path; compressed
 * requests (`grpc-encoding` other than identity), JSON and every other method stay on Connect.
 */
import type http2 from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { SeriesRequestSchema } from "../../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest } from "../../gen/store/storepb/rpc_pb.ts";
import { isAuthorized, UNAUTHENTICATED_MESSAGE } from "../../server/auth.ts";
import { grpcSeriesFrame, releaseSeriesFrame } from "../../server/raw-series.ts";
import type { RpcRecorder } from "../../server/rpc-metrics.ts";
import { TENANT_HEADER, toConnectError, type StoreApi, type StoreCallContext } from "../../server/store-api.ts";

/** The path served here. */
export const SERIES_PATH = "/thanos.Store/Series";

const LABELS = { grpc_type: "server_stream", grpc_service: "thanos.Store", grpc_method: "Series" } as const;
const BINARY_CONTENT_TYPE = /^application\/grpc(\+proto)?$/i;

/** Options of {@link createGrpcSeriesFastPath}. */
export interface GrpcSeriesFastPathOptions {
  readonly storeApi: StoreApi;
  readonly bearerToken?: string;
  readonly record?: RpcRecorder;
  /** Aborting it aborts every running call (forced server shutdown). */
  readonly shutdownSignal: AbortSignal;
}

/** True when the request is one the fast path serves (binary gRPC Series, uncompressed). */
export function isFastSeriesRequest(req: http2.Http2ServerRequest): boolean {
  if (req.method !== "POST" || req.url !== SERIES_PATH) return false;
  const ct = req.headers["content-type"];
  if (typeof ct !== "string" || !BINARY_CONTENT_TYPE.test(ct)) return false;
  const enc = req.headers["grpc-encoding"];
  return enc === undefined || enc === "identity";
}

/** Parses a `grpc-timeout` header value into milliseconds (as Connect does). */
function parseTimeout(value: string | undefined): number | ConnectError | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return new ConnectError(`protocol error: invalid grpc timeout value: ${value}`, Code.InvalidArgument);
  const unit = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[m[2] as "H"];
  return unit * parseInt(m[1]!, 10);
}

/** Reads the request body and decodes its one length-prefixed SeriesRequest. */
async function readRequest(req: http2.Http2ServerRequest): Promise<SeriesRequest> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    parts.push(chunk);
    n += chunk.length;
  }
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  if (body.length === 0) throw new ConnectError("protocol error: missing input message for server-streaming method", Code.InvalidArgument);
  if (body.length < 5) throw new ConnectError(`protocol error: incomplete envelope`, Code.InvalidArgument);
  if ((body[0]! & 1) !== 0) throw new ConnectError("protocol error: received compressed message without grpc-encoding", Code.Internal);
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) throw new ConnectError(`protocol error: promised ${len} bytes in enveloped message, got ${body.length - 5} bytes`, Code.InvalidArgument);
  if (body.length > 5 + len) throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.InvalidArgument);
  try {
    return fromBinary(SeriesRequestSchema, body.subarray(5));
  } catch (err) {
    throw new ConnectError(`parse binary: ${(err as Error).message}`, Code.InvalidArgument);
  }
}

function statusHeaders(err: ConnectError | undefined): Record<string, string> {
  return err ? { "grpc-status": String(err.code), "grpc-message": encodeURIComponent(err.rawMessage) } : { "grpc-status": "0" };
}

/**
 * Creates the handler; call it only for requests {@link isFastSeriesRequest} accepted. It never
 * throws: every outcome ends the stream with a gRPC status.
 */
export function createGrpcSeriesFastPath(opts: GrpcSeriesFastPathOptions): (req: http2.Http2ServerRequest) => void {
  return (req) => {
    void serve(req);
  };

  async function serve(req: http2.Http2ServerRequest): Promise<void> {
    const stream = req.stream;
    const end = opts.record?.(LABELS);
    const ac = new AbortController();
    let finished = false;
    const onClose = (): void => {
      if (!finished) ac.abort(new ConnectError("operation canceled", Code.Canceled));
    };
    stream.once("close", onClose);
    const onShutdown = (): void => ac.abort(new ConnectError("server shutting down", Code.Unavailable));
    opts.shutdownSignal.addEventListener("abort", onShutdown, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let headersSent = false;
    let failure: ConnectError | undefined;
    const ct = "application/grpc+proto";
    try {
      if (opts.bearerToken !== undefined) {
        const auth = req.headers.authorization;
        if (!isAuthorized(typeof auth === "string" ? auth : undefined, opts.bearerToken)) {
          throw new ConnectError(UNAUTHENTICATED_MESSAGE, Code.Unauthenticated);
        }
      }
      const timeout = parseTimeout(typeof req.headers["grpc-timeout"] === "string" ? req.headers["grpc-timeout"] : undefined);
      if (timeout instanceof ConnectError) throw timeout;
      if (timeout !== undefined) timer = setTimeout(() => ac.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), timeout);
      const request = await readRequest(req);
      const tenant = req.headers[TENANT_HEADER];
      const call: StoreCallContext = typeof tenant === "string" && tenant !== "" ? { tenant } : {};
      const signal = ac.signal;
      signal.throwIfAborted();
      for await (const frame of opts.storeApi.series(request, signal, call)) {
        if (signal.aborted || stream.destroyed) break;
        const bytes = grpcSeriesFrame(frame);
        if (!headersSent) {
          stream.respond({ ":status": 200, "content-type": ct }, { waitForTrailers: true });
          headersSent = true;
        }
        // Once the stream has written the bytes, a pooled frame buffer can be reused.
        const written = stream.write(bytes, (err) => {
          if (!err) releaseSeriesFrame(frame);
        });
        if (!written) await drained(stream, signal);
      }
      signal.throwIfAborted();
      // The client reset the stream before its 'close' event reached us.
      if (stream.destroyed) throw new ConnectError("operation canceled", Code.Canceled);
    } catch (err) {
      failure = toConnectError(err, ac.signal);
    } finally {
      finished = true;
      if (timer !== undefined) clearTimeout(timer);
      opts.shutdownSignal.removeEventListener("abort", onShutdown);
      stream.off("close", onClose);
    }
    // A client that went away gets nothing more; the call counts as canceled.
    if (ac.signal.aborted && (stream.destroyed || stream.closed)) failure = toConnectError(ac.signal.reason, ac.signal);
    end?.(failure?.code);
    if (stream.destroyed || stream.closed) return;
    try {
      if (!headersSent) {
        // Trailers-only response: the status travels in the one HEADERS frame.
        stream.respond({ ":status": 200, "content-type": ct, ...statusHeaders(failure) }, { endStream: true });
        return;
      }
      // Node's compat layer (the server has a request handler) would send its own empty trailers.
      stream.removeAllListeners("wantTrailers");
      stream.once("wantTrailers", () => {
        try {
          stream.sendTrailers(statusHeaders(failure));
        } catch {
          // the stream closed meanwhile
        }
      });
      stream.end();
    } catch {
      // the stream was reset between the check and the write: nothing left to tell the client
    }
  }
}

/** Resolves once the stream wants more data, or rejects when the call is aborted meanwhile. */
function drained(stream: http2.ServerHttp2Stream, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Already over: 'close' and 'abort' will not fire again.
    if (signal.aborted) return reject(signal.reason as Error);
    if (stream.destroyed || stream.closed) return resolve();
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      signal.removeEventListener("abort", done);
      if (signal.aborted) reject(signal.reason as Error);
      else resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
    signal.addEventListener("abort", done);
  });
}
