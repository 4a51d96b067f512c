/**
 * Fan-out of LabelNames / LabelValues: every selected store is asked concurrently, answers are
 * merged, deduplicated and sorted (Thanos `MergeUnsortedSlices`), store warnings concatenated and a
 * failing store turned into a warning, or into an `Aborted` error when partial response is off.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { LabelNamesRequest, LabelNamesResponse, LabelValuesRequest, LabelValuesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { PartialResponseStrategy } from "../gen/store/storepb/types_pb.ts";
import { compareStrings } from "../model/labels.ts";

/** A store as the label fan-out sees it. */
export interface LabelFanoutStore {
  readonly name: string;
  labelNames(req: LabelNamesRequest, signal: AbortSignal): Promise<LabelNamesResponse>;
  labelValues(req: LabelValuesRequest, signal: AbortSignal): Promise<LabelValuesResponse>;
}

/** Options of the label fan-outs. */
export interface LabelFanoutOptions {
  /** Deadline per store call in ms (`--store.response-timeout`); 0 = none. */
  responseTimeoutMs?: number;
  signal?: AbortSignal;
}

async function callAll<T>(
  stores: readonly LabelFanoutStore[],
  abort: boolean,
  opts: LabelFanoutOptions,
  what: string,
  call: (s: LabelFanoutStore, signal: AbortSignal) => Promise<T>,
): Promise<{ results: T[]; warnings: string[] }> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const settled = await Promise.all(stores.map(async (s) => {
      const signals = [ac.signal];
      if (opts.responseTimeoutMs && opts.responseTimeoutMs > 0) signals.push(AbortSignal.timeout(opts.responseTimeoutMs));
      try {
        return { ok: true as const, value: await call(s, AbortSignal.any(signals)) };
      } catch (err) {
        // The caller gave up (query timeout, client gone): fail rather than answer partially.
        if (opts.signal?.aborted) {
          const reason: unknown = opts.signal.reason;
          throw reason instanceof Error ? reason : new ConnectError(`${what} canceled`, Code.Canceled);
        }
        const msg = `${what} from ${s.name}: ${err instanceof Error ? err.message : String(err)}`;
        if (abort) {
          ac.abort();
          throw new ConnectError(msg, Code.Aborted, undefined, undefined, err);
        }
        return { ok: false as const, warning: msg };
      }
    }));
    const results: T[] = [];
    const warnings: string[] = [];
    for (const r of settled) {
      if (r.ok) results.push(r.value);
      else warnings.push(r.warning);
    }
    return { results, warnings };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

function mergeSorted(lists: readonly (readonly string[])[], limit: bigint): string[] {
  const set = new Set<string>();
  for (const l of lists) for (const v of l) set.add(v);
  const out = [...set].sort(compareStrings);
  return limit > 0n && out.length > Number(limit) ? out.slice(0, Number(limit)) : out;
}

function isAbort(req: { partialResponseDisabled: boolean; partialResponseStrategy: PartialResponseStrategy }): boolean {
  return req.partialResponseDisabled || req.partialResponseStrategy === PartialResponseStrategy.ABORT;
}

/** LabelNames over all `stores`. */
export async function fanoutLabelNames(stores: readonly LabelFanoutStore[], req: LabelNamesRequest, opts: LabelFanoutOptions = {}): Promise<LabelNamesResponse> {
  const abort = isAbort(req);
  const { results, warnings } = await callAll(stores, abort, opts, "fetch label names", (s, signal) => s.labelNames(req, signal));
  const storeWarnings = results.flatMap((r) => r.warnings);
  if (abort && storeWarnings.length > 0) throw new ConnectError(storeWarnings[0]!, Code.Aborted);
  return { $typeName: "thanos.LabelNamesResponse", names: mergeSorted(results.map((r) => r.names.filter((n) => !req.withoutReplicaLabels.includes(n))), req.limit), warnings: [...storeWarnings, ...warnings] };
}

/** LabelValues over all `stores`; empty when the label is one of `without_replica_labels`. */
export async function fanoutLabelValues(stores: readonly LabelFanoutStore[], req: LabelValuesRequest, opts: LabelFanoutOptions = {}): Promise<LabelValuesResponse> {
  if (req.withoutReplicaLabels.includes(req.label)) return { $typeName: "thanos.LabelValuesResponse", values: [], warnings: [] };
  const abort = isAbort(req);
  const { results, warnings } = await callAll(stores, abort, opts, "fetch label values", (s, signal) => s.labelValues(req, signal));
  const storeWarnings = results.flatMap((r) => r.warnings);
  if (abort && storeWarnings.length > 0) throw new ConnectError(storeWarnings[0]!, Code.Aborted);
  return { $typeName: "thanos.LabelValuesResponse", values: mergeSorted(results.map((r) => r.values), req.limit), warnings: [...storeWarnings, ...warnings] };
}
