/**
 * The querier's flags turned into query-component options, shared by the Node and Deno entries so
 * both read `--query.*`, `--deduplication.func`, `--store.response-timeout` and `--web.cors-origin`
 * the same way.
 */
import { formatDuration } from "../model/duration.ts";
import type { QueryComponentOptions } from "../query/query-component.ts";
import { FlagError, type FlagValues } from "./flags.ts";

/** A repeatable flag's values (absent → empty). */
export function flagStrings(v: FlagValues[string] | undefined): string[] {
  if (v === undefined || v === "") return [];
  return Array.isArray(v) ? v : [String(v)];
}

/** Flag values as `/api/v1/status/flags` shows them (durations in Prometheus form). */
export function flagsForStatus(flags: FlagValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(flags)) {
    if (k.endsWith("timeout") || k.endsWith("lookback-delta")) out[k] = typeof v === "number" ? formatDuration(v) : String(v);
    else out[k] = Array.isArray(v) ? v.join(",") : String(v);
  }
  return out;
}

/** The options of the query component that come from flags alone. Throws FlagError on bad values. */
export type QueryFlagOptions = Pick<
  QueryComponentOptions,
  "engine" | "replicaLabels" | "dedupFunc" | "partialResponseDefault" | "queryTimeout" | "responseTimeoutMs" | "cors" | "flags"
>;

/** Reads the querier's flags (see {@link QueryFlagOptions}). */
export function queryOptionsFromFlags(flags: FlagValues): QueryFlagOptions {
  const dedupFunc = String(flags["deduplication.func"] ?? "penalty");
  if (dedupFunc !== "penalty" && dedupFunc !== "chain") {
    throw new FlagError(`--deduplication.func must be penalty or chain, got ${JSON.stringify(dedupFunc)}`);
  }
  const timeout = Number(flags["query.timeout"] ?? 120_000);
  const cors = flags["web.cors-origin"];
  return {
    engine: {
      lookbackDelta: Number(flags["query.lookback-delta"] ?? 300_000),
      maxSamples: Number(flags["query.max-samples"] ?? 50_000_000),
      timeout,
    },
    replicaLabels: flagStrings(flags["query.replica-label"]),
    dedupFunc,
    partialResponseDefault: flags["query.partial-response"] !== false,
    queryTimeout: timeout,
    responseTimeoutMs: Number(flags["store.response-timeout"] ?? 0),
    ...(typeof cors === "string" && cors !== "" ? { cors: [cors] } : {}),
    flags: flagsForStatus(flags),
  };
}
