/**
 * Puts an in-process StoreAPI (the Worker's R2 store gateway) into the querier's endpoint set as
 * if it were a remote endpoint: probed with Info, selected by labels and time range, merged and
 * deduplicated with the Connect endpoints, without serializing anything.
 */
import type { InfoResponse } from "../../gen/info/infopb/rpc_pb.ts";
import type { StoreClient } from "../../query/store-client.ts";
import type { StoreApi } from "../../server/store-api.ts";

/** Wraps `api` as a {@link StoreClient} named `address` (e.g. `r2://BLOCKS`) on status pages. */
export function createLocalStoreClient(address: string, api: StoreApi): StoreClient {
  return {
    target: { protocol: "connect", address, baseUrl: address },
    info(signal?: AbortSignal, timeoutMs?: number): Promise<InfoResponse> {
      const signals = [signal, timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
      return api.info(signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals));
    },
    // The call context (tenant) passes through unchanged, as a remote endpoint would receive it.
    series: (req, signal, call) => api.series(req, signal ?? new AbortController().signal, call),
    labelNames: (req, signal, call) => api.labelNames(req, signal ?? new AbortController().signal, call),
    labelValues: (req, signal, call) => api.labelValues(req, signal ?? new AbortController().signal, call),
    close() {},
  };
}
