/**
 * RPC metrics for every served StoreAPI call, named like go-grpc-prometheus (which Thanos uses) so
 * existing dashboards work: `grpc_server_started_total`, `grpc_server_handled_total` and the
 * `grpc_server_handling_seconds` histogram, per service, method and status code.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";
import type { MetricsRegistry } from "./metrics.ts";

const LABELS = ["grpc_type", "grpc_service", "grpc_method"] as const;

/** gRPC status name as go-grpc-prometheus prints it (`OK`, `InvalidArgument`, ...). */
function codeName(code: Code | undefined): string {
  if (code === undefined) return "OK";
  const name = Code[code] ?? "Unknown";
  return name;
}

/** Labels of one RPC method as go-grpc-prometheus sets them. */
export type RpcLabels = Readonly<Record<"grpc_type" | "grpc_service" | "grpc_method", string>>;

/**
 * Records one call's start; the returned function records its end with the final status code
 * (undefined = OK). Shared by the Connect interceptor and servers that bypass Connect (the Node
 * gRPC Series fast path), so both count into the same series.
 */
export type RpcRecorder = (labels: RpcLabels) => (code: Code | undefined) => void;

/** Creates the `grpc_server_*` metrics in `metrics` and a recorder for them. */
export function createRpcRecorder(metrics: MetricsRegistry): RpcRecorder {
  const started = metrics.counter("grpc_server_started_total", "Total number of RPCs started on the server.", LABELS);
  const handled = metrics.counter("grpc_server_handled_total", "Total number of RPCs completed on the server, regardless of success or failure.", [...LABELS, "grpc_code"]);
  const seconds = metrics.histogram("grpc_server_handling_seconds", "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.", [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], LABELS);
  return (labels) => {
    started.inc(labels);
    const t0 = performance.now();
    return (code) => {
      handled.inc({ ...labels, grpc_code: codeName(code) });
      seconds.observe((performance.now() - t0) / 1000, labels);
    };
  };
}

/** Creates an interceptor recording started/handled counts and handling time into `metrics`. */
export function createRpcMetricsInterceptor(metrics: MetricsRegistry | RpcRecorder): Interceptor {
  const record = typeof metrics === "function" ? metrics : createRpcRecorder(metrics);
  return (next) => async (req) => {
    const labels = {
      grpc_type: req.method.methodKind === "server_streaming" ? "server_stream" : req.method.methodKind === "unary" ? "unary" : req.method.methodKind,
      grpc_service: req.service.typeName,
      grpc_method: req.method.name,
    };
    const end = record(labels);
    const done = (err: unknown): void => end(err === undefined ? undefined : ConnectError.from(err).code);
    let res;
    try {
      res = await next(req);
    } catch (err) {
      done(err);
      throw err;
    }
    if (!res.stream) {
      done(undefined);
      return res;
    }
    const inner = res.message;
    async function* counted() {
      let failed: unknown;
      try {
        yield* inner;
      } catch (err) {
        failed = err ?? new ConnectError("stream failed", Code.Unknown);
        throw err;
      } finally {
        done(failed ?? (req.signal.aborted ? new ConnectError("canceled", Code.Canceled) : undefined));
      }
    }
    return { ...res, message: counted() };
  };
}
