/**
 * Node entry for the querier's endpoints: turns `--endpoint` and `--endpoint.sd-config-file` into a
 * probing {@link EndpointSet} whose clients dial native gRPC (h2c) or Connect, with the SD file
 * watched for changes. The querier runner calls this once and closes it on shutdown.
 */
import { endpointSpecsFromFlags } from "../../query/endpoint-config.ts";
import { createEndpointSet } from "../../query/endpoint-set.ts";
import type { EndpointSet } from "../../query/endpoint-set.ts";
import { createStoreClient } from "../../query/store-client.ts";
import type { FlagValues } from "../flags.ts";
import { watchEndpointSdFile } from "./endpoint-sd-file.ts";
import type { EndpointSdWatch } from "./endpoint-sd-file.ts";
import { createNodeTransportFactory } from "./store-transport.ts";

/** Options of {@link openEndpointsFromFlags}. */
export interface EndpointsFromFlagsOptions {
  /** Bearer token sent to every endpoint that has none of its own in the SD file. */
  bearerToken?: string;
  /** Extra headers on every call (e.g. `thanos-tenant`). */
  headers?: Readonly<Record<string, string>>;
  /** Info probe interval and timeout in ms (default 5000 each, as Thanos). */
  probeIntervalMs?: number;
  infoTimeoutMs?: number;
  /** Reports SD file problems after start-up (default: stderr). */
  onError?: (err: Error) => void;
}

/** A running endpoint set plus its SD file watch. */
export interface NodeEndpoints {
  readonly set: EndpointSet;
  close(): void;
}

/**
 * Builds and starts the endpoint set from the querier's flags. Throws (naming the flag or file) on
 * an invalid `--endpoint` value or an invalid SD file at start-up.
 */
export async function openEndpointsFromFlags(flags: FlagValues, opts: EndpointsFromFlagsOptions = {}): Promise<NodeEndpoints> {
  const raw = flags["endpoint"];
  const values = Array.isArray(raw) ? raw : typeof raw === "string" && raw !== "" ? [raw] : [];
  const transportFactory = createNodeTransportFactory();
  const set = createEndpointSet({
    staticEndpoints: endpointSpecsFromFlags(values),
    clientFactory: (spec) => {
      const token = spec.bearerToken ?? opts.bearerToken;
      return createStoreClient(spec.address, {
        transportFactory,
        ...(token !== undefined ? { bearerToken: token } : {}),
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
    },
    ...(opts.probeIntervalMs !== undefined ? { probeIntervalMs: opts.probeIntervalMs } : {}),
    ...(opts.infoTimeoutMs !== undefined ? { infoTimeoutMs: opts.infoTimeoutMs } : {}),
  });
  let watch: EndpointSdWatch | undefined;
  const file = flags["endpoint.sd-config-file"];
  try {
    if (typeof file === "string" && file !== "") {
      watch = await watchEndpointSdFile(file, (specs) => set.setDynamic(specs), opts.onError ? { onError: opts.onError } : {});
    }
  } catch (err) {
    set.close();
    throw new Error(`--endpoint.sd-config-file: ${(err as Error).message}`, { cause: err });
  }
  set.start();
  return {
    set,
    close() {
      watch?.close();
      set.close();
    },
  };
}
