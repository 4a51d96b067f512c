/**
 * `meta.json` of a TSDB block (format version 1), with the optional `thanos` section that Thanos
 * (and Meridian's shipper) add on upload. Parsing validates types so a broken upload is reported
 * with the block name and field instead of surfacing later as NaN times.
 */
import { labelsFromRecord, type Labels } from "../model/labels.ts";

/** Direct parent of a compacted block. */
export interface BlockParent {
  ulid: string;
  minTime: number;
  maxTime: number;
}

/** The Thanos section (`thanos-components.md` §3.7). Unknown keys are preserved in `extra`. */
export interface ThanosMeta {
  /** External labels of the stream that produced the block. */
  labels: Record<string, string>;
  downsample: { resolution: number };
  /** e.g. "sidecar", "compactor". */
  source?: string;
  /** Files with sizes, as Thanos records them. */
  files?: { rel_path: string; size_bytes?: number; hash?: { hashFunc: string; value: string } }[];
  segment_files?: string[];
  index_stats?: { series_max_size?: number; chunk_max_size?: number };
  version?: number;
  /** Other keys (rewrites, extensions, upload_time ...), kept for round trips. */
  extra?: Record<string, unknown>;
}

/** A block's meta.json. Times are ms; the block covers [minTime, maxTime). */
export interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: { numSamples?: number; numSeries?: number; numChunks?: number; numTombstones?: number; numFloatSamples?: number; numHistogramSamples?: number };
  compaction: {
    level: number;
    sources?: string[];
    parents?: BlockParent[];
    deletable?: boolean;
    failed?: boolean;
    hints?: string[];
  };
  /** meta.json format version; always 1. */
  version: number;
  thanos?: ThanosMeta;
}

/** meta.json that does not parse or validate. `name` says which block. */
export class BlockMetaError extends Error {
  override name = "BlockMetaError";
  constructor(readonly file: string, message: string) {
    super(`${file}: invalid meta.json: ${message}`);
  }
}

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `s` is a 26-character Crockford base32 ULID, as block directory names are. */
export function isUlid(s: string): boolean {
  return ULID_RE.test(s);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates meta.json text. `name` (e.g. `01H.../meta.json`) appears in errors.
 * Requires `version: 1`, a ULID, integer min/max times with minTime ≤ maxTime.
 */
export function parseBlockMeta(text: string, name: string): BlockMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BlockMetaError(name, `not JSON: ${(err as Error).message}`);
  }
  if (!isObj(raw)) throw new BlockMetaError(name, "not a JSON object");
  const fail = (m: string): never => { throw new BlockMetaError(name, m); };
  const int = (o: Obj, key: string, path: string, required: boolean): number | undefined => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) fail(`missing field ${path}`);
      return undefined;
    }
    if (typeof v !== "number" || !Number.isInteger(v)) fail(`field ${path} must be an integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const str = (o: Obj, key: string, path: string, required: boolean): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) fail(`missing field ${path}`);
      return undefined;
    }
    if (typeof v !== "string") fail(`field ${path} must be a string, got ${JSON.stringify(v)}`);
    return v as string;
  };

  const version = int(raw, "version", "version", true)!;
  if (version !== 1) fail(`unexpected meta file version ${version} (want 1)`);
  const ulid = str(raw, "ulid", "ulid", true)!;
  if (!isUlid(ulid)) fail(`ulid ${JSON.stringify(ulid)} is not a valid ULID`);
  const minTime = int(raw, "minTime", "minTime", true)!;
  const maxTime = int(raw, "maxTime", "maxTime", true)!;
  if (minTime > maxTime) fail(`minTime ${minTime} is after maxTime ${maxTime}`);

  const stats: BlockMeta["stats"] = {};
  if (raw.stats !== undefined) {
    if (!isObj(raw.stats)) fail("field stats must be an object");
    const s = raw.stats as Obj;
    for (const k of ["numSamples", "numSeries", "numChunks", "numTombstones", "numFloatSamples", "numHistogramSamples"] as const) {
      const v = int(s, k, `stats.${k}`, false);
      if (v !== undefined) stats[k] = v;
    }
  }

  if (!isObj(raw.compaction)) fail("missing field compaction");
  const c = raw.compaction as Obj;
  const compaction: BlockMeta["compaction"] = { level: int(c, "level", "compaction.level", true)! };
  if (c.sources !== undefined && c.sources !== null) {
    if (!Array.isArray(c.sources) || !c.sources.every((s) => typeof s === "string")) fail("compaction.sources must be a list of ULIDs");
    compaction.sources = c.sources as string[];
  }
  if (c.parents !== undefined && c.parents !== null) {
    if (!Array.isArray(c.parents)) fail("compaction.parents must be a list");
    compaction.parents = (c.parents as unknown[]).map((p, i) => {
      if (!isObj(p)) fail(`compaction.parents[${i}] must be an object`);
      const o = p as Obj;
      return {
        ulid: str(o, "ulid", `compaction.parents[${i}].ulid`, true)!,
        minTime: int(o, "minTime", `compaction.parents[${i}].minTime`, true)!,
        maxTime: int(o, "maxTime", `compaction.parents[${i}].maxTime`, true)!,
      };
    });
  }
  if (typeof c.deletable === "boolean") compaction.deletable = c.deletable;
  if (typeof c.failed === "boolean") compaction.failed = c.failed;
  if (Array.isArray(c.hints)) compaction.hints = c.hints.filter((h): h is string => typeof h === "string");

  const meta: BlockMeta = { ulid, minTime, maxTime, stats, compaction, version };
  if (raw.thanos !== undefined && raw.thanos !== null) meta.thanos = parseThanos(raw.thanos, fail, int, str);
  return meta;
}

function parseThanos(
  v: unknown,
  fail: (m: string) => never,
  int: (o: Obj, key: string, path: string, required: boolean) => number | undefined,
  str: (o: Obj, key: string, path: string, required: boolean) => string | undefined,
): ThanosMeta {
  if (!isObj(v)) fail("field thanos must be an object");
  const t = v as Obj;
  const labels: Record<string, string> = {};
  if (t.labels !== undefined && t.labels !== null) {
    if (!isObj(t.labels)) fail("thanos.labels must be an object of strings");
    for (const [k, val] of Object.entries(t.labels as Obj)) {
      if (typeof val !== "string") fail(`thanos.labels.${k} must be a string`);
      labels[k] = val as string;
    }
  }
  let resolution = 0;
  if (t.downsample !== undefined && t.downsample !== null) {
    if (!isObj(t.downsample)) fail("thanos.downsample must be an object");
    resolution = int(t.downsample as Obj, "resolution", "thanos.downsample.resolution", false) ?? 0;
  }
  const out: ThanosMeta = { labels, downsample: { resolution } };
  const source = str(t, "source", "thanos.source", false);
  if (source !== undefined) out.source = source;
  const version = int(t, "version", "thanos.version", false);
  if (version !== undefined) out.version = version;
  if (t.files !== undefined && t.files !== null) {
    if (!Array.isArray(t.files)) fail("thanos.files must be a list");
    out.files = (t.files as unknown[]).map((f, i) => {
      if (!isObj(f)) fail(`thanos.files[${i}] must be an object`);
      const o = f as Obj;
      const file: NonNullable<ThanosMeta["files"]>[number] = { rel_path: str(o, "rel_path", `thanos.files[${i}].rel_path`, true)! };
      const size = int(o, "size_bytes", `thanos.files[${i}].size_bytes`, false);
      if (size !== undefined) file.size_bytes = size;
      if (isObj(o.hash) && typeof o.hash.hashFunc === "string" && typeof o.hash.value === "string") {
        file.hash = { hashFunc: o.hash.hashFunc, value: o.hash.value };
      }
      return file;
    });
  }
  if (Array.isArray(t.segment_files)) out.segment_files = t.segment_files.filter((s): s is string => typeof s === "string");
  if (isObj(t.index_stats)) {
    const s = t.index_stats as Obj;
    const stats: NonNullable<ThanosMeta["index_stats"]> = {};
    const a = int(s, "series_max_size", "thanos.index_stats.series_max_size", false);
    const b = int(s, "chunk_max_size", "thanos.index_stats.chunk_max_size", false);
    if (a !== undefined) stats.series_max_size = a;
    if (b !== undefined) stats.chunk_max_size = b;
    out.index_stats = stats;
  }
  const known = new Set(["labels", "downsample", "source", "version", "files", "segment_files", "index_stats"]);
  const extra: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(t)) if (!known.has(k)) extra[k] = val;
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}

/**
 * Serializes like Go's `json.MarshalIndent(meta, "", "\t")` with Prometheus' key order, so blocks
 * written by Meridian look like Prometheus' own. Empty optional fields are omitted (`omitempty`).
 */
export function serializeBlockMeta(meta: BlockMeta): string {
  const out: Obj = { ulid: meta.ulid, minTime: meta.minTime, maxTime: meta.maxTime };
  const stats: Obj = {};
  for (const k of ["numSamples", "numSeries", "numChunks", "numTombstones", "numFloatSamples", "numHistogramSamples"] as const) {
    const v = meta.stats[k];
    if (v !== undefined && v !== 0) stats[k] = v;
  }
  out.stats = stats;
  const c: Obj = { level: meta.compaction.level };
  if (meta.compaction.sources?.length) c.sources = meta.compaction.sources;
  if (meta.compaction.deletable) c.deletable = true;
  if (meta.compaction.parents?.length) c.parents = meta.compaction.parents.map((p) => ({ ulid: p.ulid, minTime: p.minTime, maxTime: p.maxTime }));
  if (meta.compaction.failed) c.failed = true;
  if (meta.compaction.hints?.length) c.hints = meta.compaction.hints;
  out.compaction = c;
  out.version = meta.version;
  if (meta.thanos) {
    const t = meta.thanos;
    const th: Obj = {};
    if (t.version !== undefined) th.version = t.version;
    th.labels = t.labels;
    th.downsample = { resolution: t.downsample.resolution };
    if (t.source !== undefined) th.source = t.source;
    if (t.segment_files?.length) th.segment_files = t.segment_files;
    if (t.files?.length) th.files = t.files;
    th.index_stats = t.index_stats ?? {};
    if (t.extra) Object.assign(th, t.extra);
    out.thanos = th;
  }
  return JSON.stringify(out, null, "\t");
}

/** External labels of a block as a sorted label set (empty for plain Prometheus blocks). */
export function blockExternalLabels(meta: BlockMeta): Labels {
  return labelsFromRecord(meta.thanos?.labels ?? {});
}
