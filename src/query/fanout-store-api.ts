/**
 * The querier as a StoreAPI: Series, LabelNames and LabelValues fan out to the matching endpoints
 * of an {@link EndpointSet}, Info advertises component type `query`, the union of the downstream
 * label sets and time ranges. This is what lets one global querier use regional queriers as
 * endpoints, and what the querier's own PromQL storage calls.
 */
import { create } from "@bufbuild/protobuf";
import { InfoResponseSchema } from "../gen/info/infopb/rpc_pb.ts";
import type { InfoResponse, TSDBInfo } from "../gen/info/infopb/rpc_pb.ts";
import type { LabelNamesRequest, LabelValuesRequest, SeriesRequest, SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import type { Series } from "../gen/store/storepb/types_pb.ts";
import { compareLabels } from "../model/labels.ts";
import type { Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { labelsToProto, matchersFromProto } from "../server/store-api-convert.ts";
import type { StoreApi, StoreCallContext } from "../server/store-api.ts";
import type { Endpoint } from "./endpoint-set.ts";
import { fanoutLabelNames, fanoutLabelValues } from "./fanout-labels.ts";
import type { LabelFanoutStore } from "./fanout-labels.ts";
import { selectStores } from "./fanout-select.ts";
import { fanoutSeries } from "./fanout.ts";
import type { FanoutStore } from "./fanout.ts";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(ms: number): bigint {
  if (ms === -Infinity || ms <= -9.2e18) return INT64_MIN;
  if (ms === Infinity || ms >= 9.2e18) return INT64_MAX;
  return BigInt(Math.trunc(ms));
}

/** Options of {@link createFanoutStoreApi}. */
export interface FanoutStoreApiOptions {
  /** Source of queryable endpoints (an EndpointSet, or a fixed list in tests). */
  endpoints: { stores(): Endpoint[] };
  /** `--store.response-timeout` in ms; 0 = none. */
  responseTimeoutMs?: number;
  /** Info component type; default `query`. */
  componentType?: string;
}

/** Per-call options beyond the SeriesRequest (Thanos HTTP parameters). */
export interface FanoutCallOptions {
  /** `storeMatch[]`: restrict to stores whose `__address__` matches one set. */
  storeMatchers?: readonly (readonly Matcher[])[];
  signal?: AbortSignal;
  /** Tenant forwarded to every store as `thanos-tenant` (Thanos proxies pass it on unchanged). */
  tenant?: string;
}

/** The fan-out StoreApi plus per-call variants taking `storeMatch[]`. */
export interface FanoutStoreApi extends StoreApi {
  /** Series with extra call options; frames as {@link fanoutSeries} yields them (no batching). */
  seriesWith(req: SeriesRequest, opts?: FanoutCallOptions): AsyncIterable<SeriesResponse>;
  labelNamesWith(req: LabelNamesRequest, opts?: FanoutCallOptions): ReturnType<StoreApi["labelNames"]>;
  labelValuesWith(req: LabelValuesRequest, opts?: FanoutCallOptions): ReturnType<StoreApi["labelValues"]>;
}

function asFanoutStore(e: Endpoint, call: FanoutCallOptions): FanoutStore & LabelFanoutStore {
  const ctx: StoreCallContext = call.tenant ? { tenant: call.tenant } : {};
  return {
    name: e.address,
    supportsWithoutReplicaLabels: e.status.supportsWithoutReplicaLabels,
    series: (req, signal) => e.client.series(req, signal, ctx),
    labelNames: (req, signal) => e.client.labelNames(req, signal, ctx),
    labelValues: (req, signal) => e.client.labelValues(req, signal, ctx),
  };
}

/** Creates the querier's StoreApi over `opts.endpoints`. */
export function createFanoutStoreApi(opts: FanoutStoreApiOptions): FanoutStoreApi {
  const timeout = opts.responseTimeoutMs ?? 0;

  function pick(minTime: bigint, maxTime: bigint, matchers: Matcher[], call: FanoutCallOptions): (FanoutStore & LabelFanoutStore)[] {
    // Label requests without a time range (both 0) mean "all time", as Thanos' API defaults do.
    const unbounded = minTime === 0n && maxTime === 0n;
    return selectStores(opts.endpoints.stores(), {
      minTime: unbounded ? -Infinity : Number(minTime), maxTime: unbounded ? Infinity : Number(maxTime), matchers,
      ...(call.storeMatchers ? { storeMatchers: call.storeMatchers } : {}),
    }).map((e) => asFanoutStore(e, call));
  }

  async function* seriesWith(req: SeriesRequest, call: FanoutCallOptions = {}): AsyncIterable<SeriesResponse> {
    const stores = pick(req.minTime, req.maxTime, matchersFromProto(req.matchers), call);
    yield* fanoutSeries(stores, req, { responseTimeoutMs: timeout, ...(call.signal ? { signal: call.signal } : {}) });
  }

  async function* batched(req: SeriesRequest, signal: AbortSignal, tenant: string | undefined): AsyncIterable<SeriesResponse> {
    const call: FanoutCallOptions = { signal, ...(tenant ? { tenant } : {}) };
    const size = Number(req.responseBatchSize);
    if (size <= 1) { yield* seriesWith(req, call); return; }
    // SeriesBatch frames of up to `size` series; flushed before any other frame and at the end.
    let batch: Series[] = [];
    const flush = (): SeriesResponse => {
      const f: SeriesResponse = { $typeName: "thanos.SeriesResponse", result: { case: "batch", value: { $typeName: "thanos.SeriesBatch", series: batch } } };
      batch = [];
      return f;
    };
    for await (const f of seriesWith(req, call)) {
      if (f.result.case === "series") {
        batch.push(f.result.value);
        if (batch.length >= size) yield flush();
      } else {
        if (batch.length > 0) yield flush();
        yield f;
      }
    }
    if (batch.length > 0) yield flush();
  }

  return {
    async info(): Promise<InfoResponse> {
      const stores = opts.endpoints.stores();
      const sets: Labels[] = [];
      const tsdbInfos: TSDBInfo[] = [];
      let minTime = Infinity;
      let maxTime = -Infinity;
      for (const e of stores) {
        minTime = Math.min(minTime, e.status.minTime);
        maxTime = Math.max(maxTime, e.status.maxTime);
        for (const s of e.status.labelSets) {
          if (!sets.some((x) => compareLabels(x, s) === 0)) sets.push(s);
          tsdbInfos.push({ $typeName: "thanos.info.TSDBInfo", labels: { $typeName: "thanos.ZLabelSet", labels: labelsToProto(s) }, minTime: toInt64(e.status.minTime), maxTime: toInt64(e.status.maxTime) });
        }
      }
      if (stores.length === 0) { minTime = -Infinity; maxTime = Infinity; }
      sets.sort(compareLabels);
      return create(InfoResponseSchema, {
        labelSets: sets.map((s) => ({ labels: labelsToProto(s) })),
        ComponentType: opts.componentType ?? "query",
        store: { minTime: toInt64(minTime), maxTime: toInt64(maxTime), supportsSharding: false, supportsWithoutReplicaLabels: true, tsdbInfos },
      });
    },
    series: (req, signal, ctx) => batched(req, signal, ctx?.tenant),
    seriesWith,
    labelNames: (req, signal, ctx) => labelNamesWith(req, { signal, ...(ctx?.tenant ? { tenant: ctx.tenant } : {}) }),
    labelValues: (req, signal, ctx) => labelValuesWith(req, { signal, ...(ctx?.tenant ? { tenant: ctx.tenant } : {}) }),
    labelNamesWith,
    labelValuesWith,
  };

  function labelNamesWith(req: LabelNamesRequest, call: FanoutCallOptions = {}) {
    const stores = pick(req.start, req.end, matchersFromProto(req.matchers), call);
    return fanoutLabelNames(stores, req, { responseTimeoutMs: timeout, ...(call.signal ? { signal: call.signal } : {}) });
  }

  function labelValuesWith(req: LabelValuesRequest, call: FanoutCallOptions = {}) {
    const stores = pick(req.start, req.end, matchersFromProto(req.matchers), call);
    return fanoutLabelValues(stores, req, { responseTimeoutMs: timeout, ...(call.signal ? { signal: call.signal } : {}) });
  }
}
