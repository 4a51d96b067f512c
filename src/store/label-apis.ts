/**
 * `LabelNames` and `LabelValues` of the store gateway. Without matchers they come straight from
 * the index-headers (plus external labels); with matchers, from the labels of the series that
 * match and have chunks in the time range, as Thanos computes them. Replica labels named in
 * `without_replica_labels` are left out, and a value request for one is empty.
 */
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { LabelNamesRequestHintsSchema, LabelValuesRequestHintsSchema } from "../gen/store/hintspb/hints_pb.ts";
import {
  LabelNamesResponseSchema,
  LabelValuesResponseSchema,
  type LabelNamesRequest,
  type LabelNamesResponse,
  type LabelValuesRequest,
  type LabelValuesResponse,
} from "../gen/store/storepb/rpc_pb.ts";
import { compareStrings } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import { matchersFromProto } from "../server/store-api-convert.ts";
import type { BucketBlock } from "./bucket-block.ts";
import { blockSeries } from "./block-series.ts";
import type { FailedBlock } from "./block-sync.ts";
import { createRequestLimiter } from "./limiter.ts";
import { failedBlocksFor, selectBlocks } from "./select-blocks.ts";

/** What the label APIs need from the store. */
export interface LabelApiDeps {
  blocks(): readonly BucketBlock[];
  failed(): readonly FailedBlock[];
  readonly batchSize: number;
}

function timeRange(start: bigint, end: bigint): [number, number] {
  // Thanos treats an unset range (0, 0) as "everything".
  if (start === 0n && end === 0n) return [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  return [Math.max(Number(start), Number.MIN_SAFE_INTEGER), Math.min(Number(end), Number.MAX_SAFE_INTEGER)];
}

function sortedLimited(values: Set<string>, limit: bigint): string[] {
  const out = [...values].sort(compareStrings);
  return limit > 0n && out.length > Number(limit) ? out.slice(0, Number(limit)) : out;
}

/** Calls `fn` with the labels of each series of `block` matching `matchers` in range. */
async function eachMatchingSeries(block: BucketBlock, matchers: readonly Matcher[], mint: number, maxt: number, batchSize: number, signal: AbortSignal, fn: (labels: BucketBlock["extLabels"]) => void): Promise<void> {
  const limiter = createRequestLimiter({ series: 0, samples: 0 });
  for await (const batch of blockSeries(block, { matchers, mint, maxt, skipChunks: true, without: new Set(), batchSize, limiter, signal })) {
    for (const s of batch) fn(s.labels);
  }
}

/** Creates the two label RPC handlers. */
export function createLabelApis(deps: LabelApiDeps) {
  function warningsFor(mint: number, maxt: number, matchers: readonly Matcher[]): string[] {
    return failedBlocksFor(deps.failed(), mint, maxt, matchers).map((f) => `block ${f.id} could not be loaded, its labels are missing: ${f.error}`);
  }

  return {
    async labelNames(req: LabelNamesRequest, signal: AbortSignal): Promise<LabelNamesResponse> {
      const matchers = matchersFromProto(req.matchers);
      const blockMatchers = req.hints ? matchersFromProto(anyUnpack(req.hints, LabelNamesRequestHintsSchema)?.blockMatchers ?? []) : [];
      const [mint, maxt] = timeRange(req.start, req.end);
      const names = new Set<string>();
      await Promise.all(
        selectBlocks(deps.blocks(), mint, maxt, matchers, blockMatchers).map(async ({ block, matchers: bm }) => {
          if (bm.length === 0) {
            for (const n of block.labelNames) names.add(n);
            for (const l of block.extLabels) names.add(l.name);
            return;
          }
          await eachMatchingSeries(block, bm, mint, maxt, deps.batchSize, signal, (labels) => {
            for (const l of labels) names.add(l.name);
          });
        }),
      );
      for (const r of req.withoutReplicaLabels) names.delete(r);
      return create(LabelNamesResponseSchema, { names: sortedLimited(names, req.limit), warnings: warningsFor(mint, maxt, matchers) });
    },

    async labelValues(req: LabelValuesRequest, signal: AbortSignal): Promise<LabelValuesResponse> {
      const matchers = matchersFromProto(req.matchers);
      if (req.label === "" ) return create(LabelValuesResponseSchema, { values: [] });
      if (req.withoutReplicaLabels.includes(req.label)) return create(LabelValuesResponseSchema, { values: [] });
      const blockMatchers = req.hints ? matchersFromProto(anyUnpack(req.hints, LabelValuesRequestHintsSchema)?.blockMatchers ?? []) : [];
      const [mint, maxt] = timeRange(req.start, req.end);
      const values = new Set<string>();
      await Promise.all(
        selectBlocks(deps.blocks(), mint, maxt, matchers, blockMatchers).map(async ({ block, matchers: bm }) => {
          const ext = block.extLabels.find((l) => l.name === req.label);
          if (bm.length === 0) {
            if (ext) values.add(ext.value);
            else for (const v of await block.labelValues(req.label)) if (v !== "") values.add(v);
            return;
          }
          await eachMatchingSeries(block, bm, mint, maxt, deps.batchSize, signal, (labels) => {
            const l = labels.find((x) => x.name === req.label);
            if (l) values.add(l.value);
          });
        }),
      );
      return create(LabelValuesResponseSchema, { values: sortedLimited(values, req.limit), warnings: warningsFor(mint, maxt, matchers) });
    },
  };
}
