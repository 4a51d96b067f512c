/**
 * The UI's client for the querier's Prometheus HTTP API. Requests go as form POSTs (long queries
 * fit), carry the bearer token the user entered (when the querier requires one), and errors come
 * back as the API's `error` text so the page can show them as Prometheus' UI does.
 */

/** A label set as the API returns it. */
export type Metric = Record<string, string>;

/** One series of a range query. */
export interface MatrixSeries {
  metric: Metric;
  values: [number, string][];
}

/** One sample of an instant query. */
export interface VectorSample {
  metric: Metric;
  value: [number, string];
}

/** The `data` of a query response. */
export type QueryData =
  | { resultType: "matrix"; result: MatrixSeries[] }
  | { resultType: "vector"; result: VectorSample[] }
  | { resultType: "scalar" | "string"; result: [number, string] };

/** A successful response with its warnings. */
export interface ApiResult<T> {
  data: T;
  warnings: string[];
}

/** One endpoint of `/api/v1/stores`. */
export interface StoreStatus {
  name: string;
  protocol: string;
  health: string;
  lastCheck: string | null;
  lastError: string | null;
  labelSets: Metric[];
  minTime: number;
  maxTime: number;
}

/** Options every query request carries (Thanos' toggles). */
export interface QueryToggles {
  dedup: boolean;
  partialResponse: boolean;
}

const TOKEN_KEY = "meridian.bearerToken";

/** The bearer token stored in this browser, or "". */
export function storedToken(): string {
  return localStorage.getItem(TOKEN_KEY) ?? "";
}

/** Stores (or clears, when empty) the bearer token sent with API calls. */
export function storeToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Headers for API calls: the bearer token when one is stored. */
export function authHeaders(): Headers {
  const h = new Headers();
  const token = storedToken();
  if (token) h.set("authorization", `Bearer ${token}`);
  return h;
}

/** An API error with the HTTP status and Prometheus' error type. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(path: string, params: URLSearchParams, signal?: AbortSignal): Promise<ApiResult<T>> {
  const headers = authHeaders();
  headers.set("content-type", "application/x-www-form-urlencoded");
  const res = await fetch(`api/v1/${path}`, { method: "POST", headers, body: params, ...(signal ? { signal } : {}) });
  const text = await res.text();
  let body: { status?: string; data?: T; warnings?: string[]; errorType?: string; error?: string };
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiCallError(res.status, "", res.status === 401 ? "unauthorized: enter the querier's bearer token" : `HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (body.status !== "success") throw new ApiCallError(res.status, body.errorType ?? "", `${body.errorType ?? "error"}: ${body.error ?? text}`);
  return { data: body.data as T, warnings: body.warnings ?? [] };
}

function toggles(p: URLSearchParams, t: QueryToggles): URLSearchParams {
  p.set("dedup", String(t.dedup));
  p.set("partial_response", String(t.partialResponse));
  return p;
}

/** Runs an instant query at `time` (seconds). */
export function instantQuery(expr: string, time: number, t: QueryToggles, signal?: AbortSignal): Promise<ApiResult<QueryData>> {
  return call("query", toggles(new URLSearchParams({ query: expr, time: String(time) }), t), signal);
}

/** Runs a range query over [start, end] (seconds) at `step` seconds. */
export function rangeQuery(expr: string, start: number, end: number, step: number, t: QueryToggles, signal?: AbortSignal): Promise<ApiResult<QueryData>> {
  return call("query_range", toggles(new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) }), t), signal);
}

/** Endpoint health grouped by component type. */
export async function fetchStores(): Promise<Record<string, StoreStatus[]>> {
  const res = await fetch("api/v1/stores", { headers: authHeaders() });
  if (res.status === 401) throw new ApiCallError(401, "", "unauthorized: enter the querier's bearer token");
  const body = (await res.json()) as { data: Record<string, StoreStatus[]> };
  return body.data;
}
