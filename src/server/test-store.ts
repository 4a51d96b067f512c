/**
 * A tiny in-memory StoreApi over a fixed list of series, for tests of the serving and querier
 * layers (real servers, real clients, no mocks of the protocol). Series are given as label records
 * plus raw chunks; matchers, time range, external labels and `without_replica_labels` are honoured
 * like a real store so fan-out tests see realistic streams.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InfoResponseSchema } from "../gen/info/infopb/rpc_pb.ts";
import type { InfoResponse } from "../gen/info/infopb/rpc_pb.ts";
import { LabelNamesResponseSchema, LabelValuesResponseSchema, SeriesResponseSchema } from "../gen/store/storepb/rpc_pb.ts";
import type { SeriesResponse } from "../gen/store/storepb/rpc_pb.ts";
import { Chunk_Encoding } from "../gen/store/storepb/types_pb.ts";
import { compareLabels, compareStrings, getLabel, labelsFromRecord, mergeLabels, withoutLabels } from "../model/labels.ts";
import type { Labels } from "../model/labels.ts";
import { labelsToProto, matchersFromProto } from "./store-api-convert.ts";
import type { StoreApi, StoreCallContext } from "./store-api.ts";

/** One chunk of a test series; `data` is opaque to the serving layer. */
export interface TestChunk {
  minTime: number;
  maxTime: number;
  data: Uint8Array;
  hash?: bigint;
}

/** A test series: labels and chunks. */
export interface TestSeries {
  labels: Record<string, string>;
  chunks: TestChunk[];
}

/** Options of {@link createTestStore}. */
export interface TestStoreOptions {
  series: TestSeries[];
  externalLabels?: Record<string, string>;
  componentType?: string;
  /** Called before each Series frame is sent; tests use it to stall or fail a stream. */
  beforeFrame?: (index: number, signal: AbortSignal) => Promise<void> | void;
  /** Warnings sent before the series frames. */
  warnings?: string[];
  /** Behave like an old store: ignore `without_replica_labels` and advertise no support for it. */
  ignoreWithoutReplicaLabels?: boolean;
  /** Observes each call's method and context (tests of tenant forwarding). */
  onCall?: (method: "series" | "labelNames" | "labelValues", call: StoreCallContext | undefined) => void;
}

/** Creates the in-memory StoreApi. Its min/max time are taken from the chunks. */
export function createTestStore(opts: TestStoreOptions): StoreApi {
  const ext = labelsFromRecord(opts.externalLabels ?? {});
  const all = opts.series.map((s) => ({ labels: mergeLabels(labelsFromRecord(s.labels), ext), chunks: s.chunks }));
  let minTime = Infinity;
  let maxTime = -Infinity;
  for (const s of all) for (const c of s.chunks) { minTime = Math.min(minTime, c.minTime); maxTime = Math.max(maxTime, c.maxTime); }
  if (all.length === 0) { minTime = 0; maxTime = 0; }

  function select(matchers: ReturnType<typeof matchersFromProto>, without: readonly string[]): { labels: Labels; chunks: TestChunk[] }[] {
    const out = all
      .filter((s) => matchers.every((m) => m.matches(getLabel(s.labels, m.name))))
      .map((s) => ({ labels: withoutLabels(s.labels, without), chunks: s.chunks }));
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  return {
    async info(): Promise<InfoResponse> {
      return create(InfoResponseSchema, {
        labelSets: ext.length > 0 ? [{ labels: labelsToProto(ext) }] : [],
        ComponentType: opts.componentType ?? "store",
        store: {
          minTime: BigInt(minTime), maxTime: BigInt(maxTime), supportsSharding: false, supportsWithoutReplicaLabels: !opts.ignoreWithoutReplicaLabels,
          tsdbInfos: [{ labels: { labels: labelsToProto(ext) }, minTime: BigInt(minTime), maxTime: BigInt(maxTime) }],
        },
      });
    },
    async *series(req, signal, call): AsyncIterable<SeriesResponse> {
      opts.onCall?.("series", call);
      const matchers = matchersFromProto(req.matchers);
      if (matchers.some((m) => m.name === "__limit_test__")) throw new ConnectError("exceeded series limit: test", Code.ResourceExhausted);
      let index = 0;
      for (const w of opts.warnings ?? []) yield create(SeriesResponseSchema, { result: { case: "warning", value: w } });
      for (const s of select(matchers, opts.ignoreWithoutReplicaLabels ? [] : req.withoutReplicaLabels)) {
        const chunks = s.chunks.filter((c) => c.maxTime >= Number(req.minTime) && c.minTime <= Number(req.maxTime));
        if (chunks.length === 0) continue;
        await opts.beforeFrame?.(index++, signal);
        yield create(SeriesResponseSchema, {
          result: {
            case: "series",
            value: {
              labels: labelsToProto(s.labels),
              chunks: req.skipChunks ? [] : chunks.map((c) => ({
                minTime: BigInt(c.minTime), maxTime: BigInt(c.maxTime),
                raw: { type: Chunk_Encoding.XOR, data: c.data, hash: c.hash ?? 0n },
              })),
            },
          },
        });
      }
    },
    async labelNames(req, _signal, call) {
      opts.onCall?.("labelNames", call);
      const names = new Set<string>();
      for (const s of select(matchersFromProto(req.matchers), req.withoutReplicaLabels)) for (const l of s.labels) names.add(l.name);
      return create(LabelNamesResponseSchema, { names: [...names].sort(compareStrings) });
    },
    async labelValues(req, _signal, call) {
      opts.onCall?.("labelValues", call);
      if (req.label === "__internal_error__") throw new Error("boom: test failure");
      const values = new Set<string>();
      for (const s of select(matchersFromProto(req.matchers), req.withoutReplicaLabels)) {
        const v = getLabel(s.labels, req.label);
        if (v !== "") values.add(v);
      }
      return create(LabelValuesResponseSchema, { values: [...values].sort(compareStrings) });
    },
  };
}
