/**
 * HTTP client for the Prometheus JSON API as the sidecar needs it: external labels, build version,
 * lowest timestamp, TSDB flags, and the series/label endpoints that back `skip_chunks`,
 * `LabelNames` and `LabelValues`. Runtime-neutral: only `fetch` and the `yaml` parser.
 */
import { parse as parseYaml } from "yaml";
import { normalizeLabels, type Label, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";

/** Prometheus answered with an error (non-2xx or `status: "error"`); carries the HTTP status. */
export class PrometheusHttpError extends Error {
  override name = "PrometheusHttpError";
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Prometheus has no `global.external_labels`. Fatal for the sidecar: external labels identify the
 * Prometheus in the global view (deduplication, store selection, block ownership in the bucket).
 */
export class NoExternalLabelsError extends Error {
  override name = "NoExternalLabelsError";
  constructor(url: string) {
    super(
      `no external labels configured on Prometheus server ${url}; uniquely identifying external labels must be configured ` +
        "(global.external_labels in prometheus.yml) so the querier can tell this Prometheus' data apart from others " +
        "and the blocks it uploads are attributed to it",
    );
  }
}

/** TSDB block durations from Prometheus' flags, in ms. */
export interface BlockDurations {
  readonly min: number;
  readonly max: number;
}

/** The subset of the Prometheus HTTP API the sidecar uses. Times are ms; ±Infinity means open. */
export interface PrometheusClient {
  /** Base URL without trailing slash. */
  readonly url: string;
  /** `global.external_labels` from `/api/v1/status/config`; throws {@link NoExternalLabelsError} when empty. */
  externalLabels(signal?: AbortSignal): Promise<Labels>;
  /** Version from `/api/v1/status/buildinfo`; "0" when the endpoint does not exist (old Prometheus). */
  version(signal?: AbortSignal): Promise<string>;
  /**
   * Lowest timestamp in the TSDB from `/metrics` (`prometheus_tsdb_lowest_timestamp` in ms, else the
   * `_seconds` gauge), or -Infinity when the TSDB is empty (Prometheus reports MaxInt64 then).
   */
  lowestTimestamp(signal?: AbortSignal): Promise<number>;
  /** All flags from `/api/v1/status/flags`, or undefined when the endpoint does not exist. */
  flags(signal?: AbortSignal): Promise<Record<string, string> | undefined>;
  /** Min/max block durations from the flags, or undefined when unknown. */
  blockDurations(signal?: AbortSignal): Promise<BlockDurations | undefined>;
  /** `/api/v1/series`: label sets (sorted) of the series matching all `matchers` in [start, end]. */
  series(matchers: readonly Matcher[], start: number, end: number, signal?: AbortSignal): Promise<Labels[]>;
  /** `/api/v1/labels`, with `match[]` when matchers are given. */
  labelNames(matchers: readonly Matcher[], start: number, end: number, signal?: AbortSignal): Promise<string[]>;
  /** `/api/v1/label/<name>/values`, with `match[]` when matchers are given. */
  labelValues(name: string, matchers: readonly Matcher[], start: number, end: number, signal?: AbortSignal): Promise<string[]>;
}

/** Options of {@link createPrometheusClient}. */
export interface PrometheusClientOptions {
  readonly url: string;
  /** Injected fetch (tests, Workers service bindings); defaults to the global. */
  readonly fetch?: typeof fetch;
}

// Prometheus' own "no bound" time strings, accepted by every API that takes start/end.
const MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT = "292277025-08-18T07:12:54.999999999Z";
// Beyond this many ms from the epoch we use the open-bound strings (int64 seconds overflow in Go).
const OPEN_BOUND_MS = 9_000_000_000_000_000;

/** Formats ms as the API's time parameter: seconds with millisecond fraction, or an open bound. */
export function formatApiTime(ms: number): string {
  if (ms <= -OPEN_BOUND_MS) return MIN_TIME_TEXT;
  if (ms >= OPEN_BOUND_MS) return MAX_TIME_TEXT;
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(Math.trunc(ms));
  const frac = abs % 1000;
  return `${sign}${Math.floor(abs / 1000)}${frac ? "." + String(frac).padStart(3, "0") : ""}`;
}

const OPS: Record<string, string> = { "=": "=", "!=": "!=", "=~": "=~", "!~": "!~" };

/** Renders matchers as a PromQL series selector `{a="x",b=~"y"}` for `match[]` parameters. */
export function formatSelector(matchers: readonly Matcher[]): string {
  // JSON string escaping is a subset of what PromQL's lexer accepts inside double quotes.
  return `{${matchers.map((m) => `${m.name}${OPS[m.type]}${JSON.stringify(m.value)}`).join(",")}}`;
}

/** Creates a client for the Prometheus at `opts.url`. */
export function createPrometheusClient(opts: PrometheusClientOptions): PrometheusClient {
  const base = opts.url.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  async function getRaw(path: string, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await doFetch(base + path, { signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new Error(`request to Prometheus ${base}${path.split("?")[0]} failed: ${(err as Error).message}`, { cause: err });
    }
    return res;
  }

  async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await getRaw(path, signal);
    const text = await res.text();
    let body: { status?: string; data?: T; errorType?: string; error?: string } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (!res.ok || body?.status !== "success") {
      const msg = body?.error ?? text.trim().slice(0, 500);
      throw new PrometheusHttpError(res.status, body?.errorType ?? "", `Prometheus ${path.split("?")[0]}: HTTP ${res.status}: ${msg}`);
    }
    return body.data as T;
  }

  function rangeQuery(matchers: readonly Matcher[], start: number, end: number): string {
    const p = new URLSearchParams();
    if (matchers.length > 0) p.append("match[]", formatSelector(matchers));
    p.set("start", formatApiTime(start));
    p.set("end", formatApiTime(end));
    return p.toString();
  }

  return {
    url: base,

    async externalLabels(signal) {
      const data = await getJson<{ yaml: string }>("/api/v1/status/config", signal);
      let cfg: unknown;
      try {
        cfg = parseYaml(data.yaml);
      } catch (err) {
        throw new Error(`Prometheus ${base}: cannot parse /api/v1/status/config YAML: ${(err as Error).message}`);
      }
      const ext = (cfg as { global?: { external_labels?: Record<string, unknown> } } | null)?.global?.external_labels;
      const pairs: Label[] = [];
      if (ext && typeof ext === "object") {
        for (const [name, value] of Object.entries(ext)) pairs.push({ name, value: String(value ?? "") });
      }
      const labels = normalizeLabels(pairs);
      if (labels.length === 0) throw new NoExternalLabelsError(base);
      return labels;
    },

    async version(signal) {
      const res = await getRaw("/api/v1/status/buildinfo", signal);
      if (res.status === 404 || res.status === 405) {
        await res.body?.cancel();
        return "0";
      }
      const text = await res.text();
      if (!res.ok) throw new PrometheusHttpError(res.status, "", `Prometheus /api/v1/status/buildinfo: HTTP ${res.status}: ${text.trim().slice(0, 500)}`);
      const body = JSON.parse(text) as { data?: { version?: string } };
      return body.data?.version ?? "0";
    },

    async lowestTimestamp(signal) {
      const res = await getRaw("/metrics", signal);
      const text = await res.text();
      if (!res.ok) throw new PrometheusHttpError(res.status, "", `Prometheus /metrics: HTTP ${res.status}`);
      return parseLowestTimestamp(text, base);
    },

    async flags(signal) {
      const res = await getRaw("/api/v1/status/flags", signal);
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      const text = await res.text();
      if (!res.ok) throw new PrometheusHttpError(res.status, "", `Prometheus /api/v1/status/flags: HTTP ${res.status}: ${text.trim().slice(0, 500)}`);
      return (JSON.parse(text) as { data: Record<string, string> }).data;
    },

    async blockDurations(signal) {
      const flags = await this.flags(signal);
      const min = flags?.["storage.tsdb.min-block-duration"];
      const max = flags?.["storage.tsdb.max-block-duration"];
      if (min === undefined || max === undefined) return undefined;
      return { min: parseGoDuration(min), max: parseGoDuration(max) };
    },

    async series(matchers, start, end, signal) {
      const data = await getJson<Record<string, string>[]>(`/api/v1/series?${rangeQuery(matchers, start, end)}`, signal);
      return data.map((rec) => normalizeLabels(Object.entries(rec).map(([name, value]) => ({ name, value }))));
    },

    async labelNames(matchers, start, end, signal) {
      return (await getJson<string[] | null>(`/api/v1/labels?${rangeQuery(matchers, start, end)}`, signal)) ?? [];
    },

    async labelValues(name, matchers, start, end, signal) {
      const path = `/api/v1/label/${encodeURIComponent(name)}/values?${rangeQuery(matchers, start, end)}`;
      return (await getJson<string[] | null>(path, signal)) ?? [];
    },
  };
}

/**
 * Reads the lowest TSDB timestamp (ms) from Prometheus' text exposition. MaxInt64 (nothing
 * stored yet) becomes -Infinity: the sidecar then advertises "everything", as Thanos does.
 */
export function parseLowestTimestamp(metricsText: string, source = "/metrics"): number {
  let seconds: number | undefined;
  let millis: number | undefined;
  for (const line of metricsText.split("\n")) {
    if (line.startsWith("prometheus_tsdb_lowest_timestamp_seconds ")) seconds = Number(line.slice(41).trim().split(" ")[0]);
    else if (line.startsWith("prometheus_tsdb_lowest_timestamp ")) millis = Number(line.slice(33).trim().split(" ")[0]);
  }
  // The ms gauge is exact; the seconds gauge is truncated to whole seconds (still a safe lower bound).
  const ms = millis !== undefined && !Number.isNaN(millis) ? millis : seconds !== undefined ? seconds * 1000 : undefined;
  if (ms === undefined || Number.isNaN(ms)) {
    throw new Error(`${source}: metric prometheus_tsdb_lowest_timestamp_seconds not found; is this a Prometheus server?`);
  }
  if (ms >= 9.2e18) return -Infinity;
  return Math.round(ms);
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** Parses a duration as Prometheus prints its flags (`2h`, `1m`, `1h30m`, Go's `1m30s`, `0s`) into ms. */
export function parseGoDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/y;
  if (text === "0" || text === "") return 0;
  let pos = 0;
  let total = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`not a valid duration: ${JSON.stringify(text)}`);
    total += Number(m[1]) * GO_UNITS[m[2]!]!;
    pos = re.lastIndex;
  }
  return total;
}
