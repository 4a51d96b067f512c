/**
 * The Prometheus HTTP API (`/api/v1/...`) as a Hono app: what Grafana, promtool and the UI talk to.
 * Handlers only parse parameters, call the engine or the querier's Queryable and encode results;
 * fan-out, dedup and evaluation live elsewhere. Thanos' extra parameters (`dedup`,
 * `replicaLabels[]`, `partial_response`, `storeMatch[]`) are parsed here and passed down.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Matcher } from "../../model/matcher.ts";
import type { Queryable } from "../../promql/storage.ts";
import { ApiError, invalidParam } from "./errors.ts";
import { encodeError, encodeQueryData, encodeStrings, encodeSuccess, encodeLabels, type ApiValue } from "./encode-json.ts";
import { MAX_TIME, MIN_TIME, parseApiDuration, parseBoolParam, parseTime, readParams, type ApiParams } from "./params.ts";
import { selectSeries, unionLabelNames, unionLabelValues } from "./metadata-queries.ts";

/** What a query option set from one request tells the querier. */
export interface RequestQueryOptions {
  /** Deduplicate HA replicas (Thanos `dedup`, default true). */
  readonly dedup: boolean;
  /** Replica labels for this request (`replicaLabels[]`), or the configured ones. */
  readonly replicaLabels: readonly string[];
  /** Turn failing stores into warnings instead of failing (`partial_response`). */
  readonly partialResponse: boolean;
  /** `storeMatch[]` selectors restricting which stores are asked; empty means all. */
  readonly storeMatchers: readonly (readonly Matcher[])[];
  /** Tenant from the `thanos-tenant` request header, forwarded to every store as Thanos does. */
  readonly tenant?: string;
}

/** Per-query engine options the API passes through. */
export interface ApiQueryOptions {
  readonly lookbackDelta?: number;
  readonly timeout?: number;
  readonly signal?: AbortSignal;
}

/** The engine as the API uses it (structurally the PromQL engine of src/promql/engine.ts). */
export interface ApiEngine {
  instantQuery(q: Queryable, expr: string, timeMs: number, opts?: ApiQueryOptions): Promise<{ value: ApiValue; warnings: readonly string[]; infos?: readonly string[] }>;
  rangeQuery(q: Queryable, expr: string, startMs: number, endMs: number, stepMs: number, opts?: ApiQueryOptions): Promise<{ value: ApiValue; warnings: readonly string[]; infos?: readonly string[] }>;
}

/** Options of {@link createPrometheusApi}. */
export interface PrometheusApiOptions {
  readonly engine: ApiEngine;
  /** The data a request may see, opened with the request's Thanos options. */
  readonly queryable: (opts: RequestQueryOptions) => Queryable;
  /** Parses a series selector (`match[]`, `storeMatch[]`) into matchers; throws on bad syntax. */
  readonly parseSelector: (text: string) => Matcher[];
  /** Maps an engine/storage error to the API's error type; unknown errors become `internal`. */
  readonly classifyError?: (err: unknown) => ApiError | undefined;
  /** Configured replica labels (`--query.replica-label`). */
  readonly replicaLabels: readonly string[];
  /** Default of `partial_response` (`--query.partial-response`). */
  readonly partialResponseDefault: boolean;
  /** Query timeout cap in ms (`--query.timeout`). */
  readonly queryTimeout: number;
  /** Extra JSON-able data for `/status/buildinfo` and `/status/flags`. */
  readonly buildInfo: Readonly<Record<string, string>>;
  readonly flags: Readonly<Record<string, string>>;
  /** Extra routes such as `/stores`, mounted on the same app. */
  readonly extend?: (app: Hono) => void;
  /** Current time in ms (default `Date.now`), for `time` defaults. */
  readonly now?: () => number;
}

/** Points limit of a range query, as Prometheus. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** Bodies shorter than this (in UTF-16 units) get a Content-Length; see {@link json}. */
const SIZED_BODY_CHARS = 4096;

/** UTF-8 byte length of `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
export function utf8ByteLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) { n += 1; continue; }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n += 2; i++; continue; } // pair: 2 units -> 4 bytes
    }
    n += 2;
  }
  return n;
}

/**
 * A JSON response. Small bodies (most instant queries, label lookups) carry their Content-Length:
 * the API's gzip middleware then leaves those under its 1 KiB threshold alone, and the runtime
 * writes them in one piece, instead of piping every answer through a CompressionStream (zlib
 * state, stream hops and a timer per response, for a body that gzip cannot shrink anyway).
 */
function json(body: string, status = 200): Response {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (body.length < SIZED_BODY_CHARS) headers["content-length"] = String(utf8ByteLength(body));
  return new Response(body, { status, headers });
}

function errorResponse(err: ApiError): Response {
  return json(encodeError(err.type, err.message, err.warnings), err.status);
}

/** Builds the `/api/v1` app. Mount it with `app.route("/api/v1", createPrometheusApi(...))`. */
export function createPrometheusApi(opts: PrometheusApiOptions): Hono {
  const app = new Hono();
  const now = opts.now ?? Date.now;

  const requestOptions = (p: ApiParams, req?: Request): RequestQueryOptions => {
    const replicaParam = p.getAll("replicaLabels[]");
    const tenant = req?.headers.get("thanos-tenant") ?? "";
    return {
      ...(tenant !== "" ? { tenant } : {}),
      dedup: parseBoolParam(p, "dedup", true),
      replicaLabels: replicaParam.length > 0 ? replicaParam : opts.replicaLabels,
      partialResponse: parseBoolParam(p, "partial_response", opts.partialResponseDefault),
      storeMatchers: p.getAll("storeMatch[]").map((s) => selector(s, "storeMatch[]")),
    };
  };

  const selector = (text: string, param: string): Matcher[] => {
    try {
      return opts.parseSelector(text);
    } catch (err) {
      throw new ApiError("bad_data", `invalid parameter ${JSON.stringify(param)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  /** Engine options of one request; the `timeout` parameter (capped by the flag) becomes an abort signal. */
  const queryOptions = (p: ApiParams, signal: AbortSignal): { options: ApiQueryOptions; timedOut: () => boolean } => {
    let timeout = opts.queryTimeout;
    const t = p.get("timeout");
    if (t !== undefined && t !== "") timeout = Math.min(timeout, parseApiDuration(t, "timeout"));
    const timer = AbortSignal.timeout(Math.max(1, timeout));
    const lb = p.get("lookback_delta");
    const options: ApiQueryOptions = { timeout, signal: AbortSignal.any([signal, timer]), ...(lb ? { lookbackDelta: parseApiDuration(lb, "lookback_delta") } : {}) };
    return { options, timedOut: () => timer.aborted };
  };

  const runQuery = async <T>(q: { options: ApiQueryOptions; timedOut: () => boolean }, fn: (o: ApiQueryOptions) => Promise<T>): Promise<T> => {
    try {
      return await fn(q.options);
    } catch (err) {
      if (q.timedOut()) throw new ApiError("timeout", "query timed out in query execution");
      throw err;
    }
  };

  const classify = (err: unknown): ApiError => {
    if (err instanceof ApiError) return err;
    const mapped = opts.classifyError?.(err);
    if (mapped) return mapped;
    return new ApiError("internal", err instanceof Error ? err.message : String(err));
  };

  const handle = (fn: (p: ApiParams, c: Context) => Promise<Response>) => async (c: Context) => {
    try {
      return await fn(await readParams(c.req.raw), c);
    } catch (err) {
      return errorResponse(classify(err));
    }
  };

  const optionalTime = (p: ApiParams, name: string, fallback: number): number => {
    const v = p.get(name);
    return v === undefined || v === "" ? fallback : parseTime(v, name);
  };

  const query = handle(async (p, c) => {
    const expr = p.get("query") ?? "";
    const time = optionalTime(p, "time", now());
    const q = queryOptions(p, c.req.raw.signal);
    const res = await runQuery(q, (o) => opts.engine.instantQuery(opts.queryable(requestOptions(p, c.req.raw)), expr, time, o)).catch((err: unknown) => {
      const e = classify(err);
      // Prometheus prefixes parse errors of instant queries with the parameter name.
      if (e.type === "bad_data" && !e.message.startsWith("invalid parameter")) throw new ApiError("bad_data", `invalid parameter "query": ${e.message}`);
      throw e;
    });
    return json(encodeSuccess(encodeQueryData(res.value), res.warnings, res.infos));
  });

  const queryRange = handle(async (p, c) => {
    // Prometheus words these with invalidParamError (prefix) but bare parseTime messages.
    const start = parseTime(p.get("start") ?? "", "start", false);
    const end = parseTime(p.get("end") ?? "", "end", false);
    if (end < start) throw invalidParam("end", "end timestamp must not be before start time");
    const step = parseApiDuration(p.get("step") ?? "", "step");
    if (step <= 0) throw invalidParam("step", "zero or negative query resolution step widths are not accepted. Try a positive integer");
    if ((end - start) / step > MAX_POINTS_PER_SERIES) {
      throw new ApiError("bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
    }
    const q = queryOptions(p, c.req.raw.signal);
    const res = await runQuery(q, (o) => opts.engine.rangeQuery(opts.queryable(requestOptions(p, c.req.raw)), p.get("query") ?? "", start, end, step, o));
    return json(encodeSuccess(encodeQueryData(res.value), res.warnings, res.infos));
  });

  const limitOf = (p: ApiParams): number => {
    const raw = p.get("limit");
    if (raw === undefined || raw === "") return 0;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new ApiError("bad_data", `invalid parameter "limit": cannot parse ${JSON.stringify(raw)} to a valid limit`);
    return n;
  };

  const series = handle(async (p, c) => {
    const matches = p.getAll("match[]");
    if (matches.length === 0) throw new ApiError("bad_data", "no match[] parameter provided");
    const sets = matches.map((m) => selector(m, "match[]"));
    const start = optionalTime(p, "start", MIN_TIME);
    const end = optionalTime(p, "end", MAX_TIME);
    const limit = limitOf(p);
    const res = await selectSeries(opts.queryable(requestOptions(p, c.req.raw)), sets, start, end, limit, c.req.raw.signal);
    return json(encodeSuccess(`[${res.series.map(encodeLabels).join(",")}]`, res.warnings));
  });

  const labels = handle(async (p, c) => {
    const sets = p.getAll("match[]").map((m) => selector(m, "match[]"));
    const res = await unionLabelNames(opts.queryable(requestOptions(p, c.req.raw)), sets, optionalTime(p, "start", MIN_TIME), optionalTime(p, "end", MAX_TIME), limitOf(p), c.req.raw.signal);
    return json(encodeSuccess(encodeStrings(res.values), res.warnings));
  });

  const labelValues = handle(async (p, c) => {
    const name = c.req.param("name") ?? "";
    const decoded = name.startsWith("U__") ? decodeUtf8LabelName(name) : name;
    if (decoded === "") throw new ApiError("bad_data", `invalid label name: ${JSON.stringify(name)}`);
    const sets = p.getAll("match[]").map((m) => selector(m, "match[]"));
    const res = await unionLabelValues(opts.queryable(requestOptions(p, c.req.raw)), decoded, sets, optionalTime(p, "start", MIN_TIME), optionalTime(p, "end", MAX_TIME), limitOf(p), c.req.raw.signal);
    return json(encodeSuccess(encodeStrings(res.values), res.warnings));
  });

  app.on(["GET", "POST"], "/query", query);
  app.on(["GET", "POST"], "/query_range", queryRange);
  app.on(["GET", "POST"], "/series", series);
  app.on(["GET", "POST"], "/labels", labels);
  app.get("/label/:name/values", labelValues);
  app.get("/status/buildinfo", (c) => c.json({ status: "success", data: opts.buildInfo }));
  app.get("/status/flags", (c) => c.json({ status: "success", data: opts.flags }));
  // StoreAPI carries no metric metadata and no exemplars, so there are none to report; Grafana
  // and editors ask for both. Parameters are still validated as Prometheus does.
  app.get("/metadata", (c) => c.json({ status: "success", data: {} }));
  app.on(["GET", "POST"], "/query_exemplars", handle(async (p) => {
    const start = optionalTime(p, "start", MIN_TIME);
    const end = optionalTime(p, "end", MAX_TIME);
    if (end < start) throw new ApiError("bad_data", "end timestamp must not be before start time");
    return json(encodeSuccess("[]"));
  }));
  opts.extend?.(app);
  return app;
}

/**
 * Decodes Prometheus 3's escaped label names in URL paths (`U__` prefix, `_XX_` hex code points,
 * `__` for an underscore), so UTF-8 label names work in `/label/<name>/values`.
 */
export function decodeUtf8LabelName(name: string): string {
  let out = "";
  const body = name.slice(3);
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "_") {
      out += ch;
      continue;
    }
    if (body[i + 1] === "_") {
      out += "_";
      i++;
      continue;
    }
    const end = body.indexOf("_", i + 1);
    if (end < 0) return "";
    const code = Number.parseInt(body.slice(i + 1, end), 16);
    if (!Number.isFinite(code)) return "";
    out += String.fromCodePoint(code);
    i = end;
  }
  return out;
}
