/**
 * The sidecar's StoreAPI over one Prometheus. Series come from remote read: streamed XOR chunks
 * are passed through byte for byte (only re-wrapped), SAMPLES answers (old Prometheus) are encoded
 * into XOR chunks of at most 120 samples. External labels are attached and win over stored
 * labels, matchers on external labels are settled here (contract 10.5), replica labels are
 * stripped and the stream re-sorted with the minimal buffering {@link createResorter} allows.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { InfoResponse } from "../gen/info/infopb/rpc_pb.ts";
import type { Label as ProtoLabel } from "../gen/store/labelpb/types_pb.ts";
import type {
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  SeriesRequest,
  SeriesResponse,
} from "../gen/store/storepb/rpc_pb.ts";
import { Chunk_Encoding, type AggrChunk } from "../gen/store/storepb/types_pb.ts";
import type { TimeSeries } from "../gen/prompb/types_pb.ts";
import { compareStrings, getLabel, normalizeLabels, type Label, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { encodeSeries } from "../server/series-codec.ts";
import { labelsFromProto, labelsToProto, matchersFromProto } from "../server/store-api-convert.ts";
import type { StoreApi } from "../server/store-api.ts";
import { createXorEncoder } from "../tsdb/xor-encoder.ts";
import { PrometheusHttpError, type PrometheusClient } from "./prometheus-client.ts";
import type { PrometheusState } from "./prometheus-state.ts";
import type { DecodeBufferStats } from "./decoded-frames.ts";
import type { HttpPost } from "./http-post.ts";
import { remoteRead } from "./remote-read.ts";
import { RemoteReadError } from "./remote-read-error.ts";
import { toRawSeriesResponse } from "../server/raw-series.ts";
import { releaseEncodedChunks, type EncodedChunks } from "./chunk-arena.ts";
import { createResorter } from "./resort.ts";
import { createSeriesFrameBuilder } from "./series-frames.ts";

/** Options of {@link createSidecarStoreApi}. */
export interface SidecarStoreOptions {
  readonly client: PrometheusClient;
  readonly state: PrometheusState;
  /** Injected fetch for remote read; defaults to the global. */
  readonly fetch?: typeof fetch;
  /** Injected HTTP client for remote read (wins over `fetch`). */
  readonly post?: HttpPost;
  /** Request SAMPLES instead of streamed chunks (to exercise the fallback). */
  readonly samplesOnly?: boolean;
  /** Largest remote-read frame accepted (default 50 MB, as Go's client). */
  readonly maxFrameBytes?: number;
  /** Called for non-fatal problems (e.g. series without samples), for logging. */
  readonly onWarning?: (message: string) => void;
  /** Called after each streamed Series call with what it held at most (metrics, benchmarks). */
  readonly onSeriesStats?: (stats: SeriesStreamStats) => void;
}

/**
 * Memory a streamed Series call held, sampled after each network read of the remote-read answer:
 * the bytes of an incomplete remote-read frame carried to the next read, the decoder's chunk
 * arena (blocks holding chunks of series not yet framed, which covers the re-sorter's pending
 * series, plus up to two spare blocks), the response frame being filled, and response frames
 * built but not yet taken by the server. Not included: the HTTP client's fixed read buffer, the
 * frame the server is writing (it waits for each write to drain before taking the next) and the
 * server's pool of written frame buffers awaiting reuse (raw-series.ts, bounded there).
 */
export interface SeriesStreamStats {
  readonly peakBufferedBytes: number;
  /** Largest remote-read frame of the call (header, CRC and message). */
  readonly largestFrameBytes: number;
  /** Largest response frame the call built (encoded Series or SeriesBatch). */
  readonly largestResponseBytes: number;
}

/** Largest int64, the sidecar's advertised max time ("up to now and beyond"), as Thanos. */
export const MAX_INT64 = 9223372036854775807n;
/** Smallest int64. */
export const MIN_INT64 = -9223372036854775808n;

/** Converts ms (±Infinity allowed) to int64. */
export function msToInt64(ms: number): bigint {
  if (ms === -Infinity || ms <= -9.2e18) return MIN_INT64;
  if (ms === Infinity || ms >= 9.2e18) return MAX_INT64;
  return BigInt(Math.trunc(ms));
}

/** Converts int64 ms to a number; values beyond ±2^53 become ±Infinity (open bounds). */
export function int64ToMs(v: bigint): number {
  if (v <= -9007199254740991n) return -Infinity;
  if (v >= 9007199254740991n) return Infinity;
  return Number(v);
}

/**
 * Settles matchers on external labels (StoreAPI contract 10.5): each matcher naming an external
 * label is evaluated against its value; any failure means "this store has nothing". Returns the
 * remaining matchers for Prometheus, or undefined when the store cannot match.
 */
export function applyExternalLabelMatchers(matchers: readonly Matcher[], externalLabels: Labels): Matcher[] | undefined {
  const rest: Matcher[] = [];
  for (const m of matchers) {
    const ext = externalLabels.find((l) => l.name === m.name);
    if (!ext) rest.push(m);
    else if (!m.matches(ext.value)) return undefined;
  }
  return rest;
}

const SAMPLES_PER_CHUNK = 120;

/** Creates the StoreAPI implementation of a sidecar. */
export function createSidecarStoreApi(opts: SidecarStoreOptions): StoreApi {
  const { client, state } = opts;

  // Data calls only need the external labels to be known: while Prometheus is briefly down they
  // fail on their own (Unavailable), and they work again as soon as it is back, before the next
  // heartbeat. Info reports readiness itself.
  function requireLabels(): Labels {
    if (state.externalLabels.length === 0) {
      throw new ConnectError(`Prometheus ${client.url} is not ready: ${state.lastError || "no answer yet"}`, Code.Unavailable);
    }
    return state.externalLabels;
  }

  function requireReady(): Labels {
    if (!state.ready) throw new ConnectError(`Prometheus ${client.url} is not ready: ${state.lastError || "no answer yet"}`, Code.Unavailable);
    return requireLabels();
  }

  function toStoreError(err: unknown, signal?: AbortSignal): unknown {
    if (err instanceof ConnectError || signal?.aborted) return err;
    if (err instanceof PrometheusHttpError) {
      return new ConnectError(err.message, err.status === 400 ? Code.InvalidArgument : err.status === 422 ? Code.Internal : Code.Unavailable);
    }
    if (err instanceof RemoteReadError) {
      return new ConnectError(err.message, err.status === 400 ? Code.InvalidArgument : Code.Unavailable);
    }
    if (err instanceof Error) return new ConnectError(err.message, Code.Unavailable, undefined, undefined, err);
    return err;
  }

  async function* series(req: SeriesRequest, signal: AbortSignal): AsyncGenerator<SeriesResponse> {
    const ext = requireLabels();
    const rest = applyExternalLabelMatchers(matchersFromProto(req.matchers), ext);
    if (!rest) return;
    if (rest.length === 0) throw new ConnectError("no matchers specified (excluding external labels)", Code.InvalidArgument);
    const start = Math.max(int64ToMs(req.minTime), state.minTime);
    const end = int64ToMs(req.maxTime);
    if (end < start) return;
    const replica = new Set(req.withoutReplicaLabels);
    const limit = req.limit > 0n ? Number(req.limit) : Infinity;
    const batchSize = req.responseBatchSize > 1n ? Number(req.responseBatchSize) : 1;
    // Items are chunk fields written straight into the frames (see chunked-decoder.ts).
    const resorter = createResorter<EncodedChunks>(ext, replica);
    const frames = createSeriesFrameBuilder(batchSize);
    let sent = 0;
    const decodeStats: DecodeBufferStats = { carryBytes: 0, arenaBytes: 0, largestFrameBytes: 0 };
    let peakBuffered = 0;
    let largestResponse = 0;
    // Samples what the call holds right now; `out` are frames built but not yet yielded.
    function sample(out: readonly SeriesResponse[]): void {
      let held = decodeStats.carryBytes + decodeStats.arenaBytes + frames.bufferBytes;
      for (const f of out) {
        const n = frameSize(f);
        held += n;
        if (n > largestResponse) largestResponse = n;
      }
      if (held > peakBuffered) peakBuffered = held;
    }

    // Turns released series into response frames appended to `out`, honouring the limit.
    function emit(ready: readonly { labels: Labels; items: EncodedChunks[] }[], out: SeriesResponse[]): SeriesResponse[] {
      for (const s of ready) {
        if (sent >= limit) break;
        sent++;
        const f = frames.add(s.labels, s.items);
        // Copied into the frame: the decoder's arena may reuse the space.
        for (const it of s.items) releaseEncodedChunks(it);
        if (f) out.push(f);
      }
      return out;
    }
    function finish(): SeriesResponse[] {
      const out = emit(resorter.finish(), []);
      const f = frames.flush();
      if (f) out.push(f);
      return out;
    }

    try {
      if (req.skipChunks) {
        const found = await client.series(rest, start, end, signal);
        const out: SeriesResponse[] = [];
        for (const labels of found) emit(resorter.push(labels, []), out);
        yield* out;
        yield* finish();
        return;
      }
      const result = await remoteRead({
        url: client.url,
        query: { start, end, matchers: rest },
        signal,
        fetch: opts.fetch,
        post: opts.post,
        stats: decodeStats,
        samplesOnly: opts.samplesOnly,
        maxFrameBytes: opts.maxFrameBytes,
      });
      if (result.type === "chunks") {
        // Each response frame is handed on as soon as it is complete, before the next remote-read
        // frame is decoded: the sidecar holds about one response frame and the series waiting for it.
        let out: SeriesResponse[] = [];
        for await (const reader of result.frameReaders) {
          for (let frame = reader.next(); frame; frame = reader.next()) {
            if (frame.queryIndex !== 0) throw new RemoteReadError(`remote read: unexpected query index ${frame.queryIndex} in frame`);
            for (const cs of frame.series) emit(resorter.push(sortedLabels(cs.labels), cs.chunkCount > 0 ? [cs.chunks] : []), out);
            if (out.length > 0) {
              sample(out);
              yield* out;
              out = [];
              if (sent >= limit) return;
            }
          }
        }
        const last = finish();
        sample(last);
        opts.onSeriesStats?.({ peakBufferedBytes: peakBuffered, largestFrameBytes: decodeStats.largestFrameBytes, largestResponseBytes: largestResponse });
        yield* last;
        return;
      } else {
        const results = result.response.results;
        if (results.length !== 1) throw new RemoteReadError(`remote read: expected 1 query result in SAMPLES response, got ${results.length}`);
        for (const ts of results[0]!.timeseries) {
          if (ts.samples.length === 0) {
            opts.onWarning?.(`remote read: series without samples skipped`);
            continue;
          }
          yield* emit(resorter.push(labelsFromProto(ts.labels as unknown as ProtoLabel[]), [encodeSamples(ts)]), []);
          if (sent >= limit) return;
        }
      }
      yield* finish();
    } catch (err) {
      throw toStoreError(err, signal);
    }
  }

  async function labelNames(req: LabelNamesRequest, signal: AbortSignal): Promise<LabelNamesResponse> {
    const ext = requireLabels();
    const empty: LabelNamesResponse = { $typeName: "thanos.LabelNamesResponse", names: [], warnings: [] };
    const rest = applyExternalLabelMatchers(matchersFromProto(req.matchers), ext);
    if (!rest) return empty;
    const replica = new Set(req.withoutReplicaLabels);
    let names: string[];
    try {
      names = await client.labelNames(rest, Math.max(int64ToMs(req.start), state.minTime), int64ToMs(req.end), signal);
    } catch (err) {
      throw toStoreError(err, signal);
    }
    if (names.length > 0) names = [...names, ...ext.map((l) => l.name)];
    const out = [...new Set(names.filter((n) => !replica.has(n)))].sort(compareStrings);
    return { ...empty, names: req.limit > 0n ? out.slice(0, Number(req.limit)) : out };
  }

  async function labelValues(req: LabelValuesRequest, signal: AbortSignal): Promise<LabelValuesResponse> {
    if (req.label === "") throw new ConnectError("label name parameter cannot be empty", Code.InvalidArgument);
    const ext = requireLabels();
    const empty: LabelValuesResponse = { $typeName: "thanos.LabelValuesResponse", values: [], warnings: [] };
    if (req.withoutReplicaLabels.includes(req.label)) return empty;
    const rest = applyExternalLabelMatchers(matchersFromProto(req.matchers), ext);
    if (!rest) return empty;
    const start = Math.max(int64ToMs(req.start), state.minTime);
    const end = int64ToMs(req.end);
    try {
      const extValue = getLabel(ext, req.label);
      if (extValue !== "") {
        if (rest.length === 0) return { ...empty, values: [extValue] };
        const found = await client.series(rest, start, end, signal);
        return { ...empty, values: found.length > 0 ? [extValue] : [] };
      }
      const values = await client.labelValues(req.label, rest, start, end, signal);
      return { ...empty, values: req.limit > 0n ? values.slice(0, Number(req.limit)) : values };
    } catch (err) {
      throw toStoreError(err, signal);
    }
  }

  async function info(): Promise<InfoResponse> {
    const ext = requireReady();
    const labels = labelsToProto(ext);
    const minTime = msToInt64(state.minTime);
    return {
      $typeName: "thanos.info.InfoResponse",
      labelSets: [{ $typeName: "thanos.ZLabelSet", labels }],
      ComponentType: "sidecar",
      store: {
        $typeName: "thanos.info.StoreInfo",
        minTime,
        maxTime: MAX_INT64,
        supportsSharding: false,
        supportsWithoutReplicaLabels: true,
        tsdbInfos: [{ $typeName: "thanos.info.TSDBInfo", labels: { $typeName: "thanos.ZLabelSet", labels }, minTime, maxTime: MAX_INT64 }],
        supportsProjections: false,
      },
    };
  }

  return { series, labelNames, labelValues, info };
}

/** Encoded size of a frame this store built (its pre-encoded bytes; a map lookup). */
function frameSize(f: SeriesResponse): number {
  const v = toRawSeriesResponse(f).result.value;
  return v instanceof Uint8Array ? v.length : 0;
}

/** Prometheus sends labels sorted; anything else is sorted so the model invariant holds. */
function sortedLabels(labels: Label[]): Labels {
  for (let i = 1; i < labels.length; i++) {
    if (compareStrings(labels[i - 1]!.name, labels[i]!.name) >= 0) return normalizeLabels(labels);
  }
  return labels;
}

/** Encodes a SAMPLES-mode series into XOR chunks of at most 120 samples, as encoded Series chunk fields. */
function encodeSamples(ts: TimeSeries): EncodedChunks {
  const chunks: AggrChunk[] = [];
  for (let i = 0; i < ts.samples.length; i += SAMPLES_PER_CHUNK) {
    const enc = createXorEncoder();
    const end = Math.min(ts.samples.length, i + SAMPLES_PER_CHUNK);
    for (let j = i; j < end; j++) enc.append(Number(ts.samples[j]!.timestamp), ts.samples[j]!.value);
    const data = enc.bytes();
    chunks.push({
      $typeName: "thanos.AggrChunk",
      minTime: ts.samples[i]!.timestamp,
      maxTime: ts.samples[end - 1]!.timestamp,
      raw: { $typeName: "thanos.Chunk", type: Chunk_Encoding.XOR, data, hash: 0n },
    });
  }
  // A Series with no labels encodes to exactly its chunk fields.
  const buf = encodeSeries({ $typeName: "thanos.Series", labels: [], chunks });
  return { buf, start: 0, size: buf.length };
}
