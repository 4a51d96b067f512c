/**
 * Parameter parsing for the Prometheus HTTP API: times (Unix seconds or RFC 3339), durations
 * (float seconds or Prometheus durations), and the repeated `match[]`-style parameters from GET
 * query strings and form-encoded POST bodies alike.
 */
import { DurationError, parseDuration } from "../../model/duration.ts";
import { invalidParam } from "./errors.ts";

/** Smallest time the API accepts (ms); the default `start` of series and label queries. */
export const MIN_TIME = -9223372036854776; // math.MinInt64 / 1000, as Prometheus' minTime in ms
/** Largest time the API accepts (ms); the default `end` of series and label queries. */
export const MAX_TIME = 9223372036854776;

const MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z";
const MAX_TIME_TEXT = "292277025-08-18T07:12:54.999999999Z";

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses an API timestamp into ms. Unix seconds keep millisecond precision with the fraction
 * rounded half away from zero, as Prometheus does; RFC 3339 with optional fraction and offset.
 * `wrapped` (default) words the error as Prometheus' `parseTimeParam` (`Invalid time value for
 * 'time': ...`, used by query, series and labels); query_range's start/end use bare `parseTime`,
 * whose message lacks that part.
 */
export function parseTime(text: string, param: string, wrapped = true): number {
  const fail = (): never => {
    const reason = `cannot parse ${JSON.stringify(text)} to a valid timestamp`;
    throw invalidParam(param, wrapped ? `Invalid time value for '${param}': ${reason}` : reason);
  };
  if (text.trim() !== "" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) {
    const f = Number(text);
    const sec = Math.trunc(f);
    const frac = f - sec;
    const ms = sec * 1000 + Math.sign(frac) * Math.round(Math.abs(frac) * 1000);
    if (!Number.isFinite(ms)) fail();
    return ms;
  }
  if (text === MIN_TIME_TEXT) return MIN_TIME;
  if (text === MAX_TIME_TEXT) return MAX_TIME;
  const m = RFC3339.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s, fracText, zone] = m;
    let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    if (fracText) ms += Math.floor(Number(`0${fracText}`) * 1000 + 1e-9);
    if (zone && zone !== "Z" && zone !== "z") {
      const sign = zone[0] === "-" ? -1 : 1;
      ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    }
    if (Number.isFinite(ms)) return ms;
  }
  return fail();
}

/** Parses an API duration (`step`, `timeout`, `lookback_delta`): float seconds or a Prometheus duration, into ms. */
export function parseApiDuration(text: string, param: string): number {
  // Go's ParseFloat fails on out-of-range input ("1e400"), which then falls through to the
  // duration parser; only a finite float too large for int64 nanoseconds "overflows".
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) && Number.isFinite(Number(text))) {
    const ms = Number(text) * 1000;
    if (!Number.isFinite(ms) || Math.abs(ms) > 9.223372036854775e15) {
      throw invalidParam(param, `cannot parse ${JSON.stringify(text)} to a valid duration. It overflows int64`);
    }
    return Math.round(ms);
  }
  try {
    return parseDuration(text);
  } catch (err) {
    if (err instanceof DurationError) throw invalidParam(param, `cannot parse ${JSON.stringify(text)} to a valid duration`);
    throw err;
  }
}

/** Request parameters from the query string and, for form POSTs, the body; repeated keys kept in order. */
export interface ApiParams {
  /** First value of `name`, or undefined. */
  get(name: string): string | undefined;
  /** All values of `name` (for `match[]`, `replicaLabels[]`, `storeMatch[]`). */
  getAll(name: string): string[];
}

/** Collects parameters from a Request: URL query plus `application/x-www-form-urlencoded` body on POST. */
export async function readParams(req: Request): Promise<ApiParams> {
  const url = new URL(req.url);
  const all = new URLSearchParams(url.search);
  if (req.method === "POST") {
    const type = req.headers.get("content-type") ?? "";
    if (type.startsWith("application/x-www-form-urlencoded")) {
      for (const [k, v] of new URLSearchParams(await req.text())) all.append(k, v);
    }
  }
  return {
    get: (name) => all.get(name) ?? undefined,
    getAll: (name) => all.getAll(name),
  };
}

/** Parses an optional boolean parameter the way Thanos does (`true`/`false`/`1`/`0`), else `fallback`. */
export function parseBoolParam(params: ApiParams, name: string, fallback: boolean): boolean {
  const raw = params.get(name);
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw invalidParam(name, `cannot parse ${JSON.stringify(raw)} as a boolean`);
}
