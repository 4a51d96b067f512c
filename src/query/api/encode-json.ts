/**
 * JSON bodies of the Prometheus HTTP API, built as strings so numbers come out exactly as Prometheus
 * prints them (see format-number.ts) and label objects keep label order. Also Go-style string
 * escaping: Prometheus' encoder escapes `<`, `>`, `&`, U+2028 and U+2029, JSON.stringify does not.
 */
import type { Labels } from "../../model/labels.ts";
import { formatFloatFixed, formatSampleTime, formatSampleValue, formatScalarTime } from "./format-number.ts";

/** One sample of an instant vector. */
export interface ApiSample {
  readonly labels: Labels;
  readonly t: number;
  readonly v: number;
}

/** One series of a matrix, samples as parallel arrays. */
export interface ApiSeries {
  readonly labels: Labels;
  readonly t: ArrayLike<number>;
  readonly v: ArrayLike<number>;
}

/** The four PromQL result types, in the shape the engine produces them. */
export type ApiValue =
  | { readonly type: "scalar"; readonly t: number; readonly v: number }
  | { readonly type: "string"; readonly t: number; readonly v: string }
  | { readonly type: "vector"; readonly samples: readonly ApiSample[] }
  | { readonly type: "matrix"; readonly series: readonly ApiSeries[] };

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const GO_ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

/** A JSON string literal escaped as Go's encoding/json escapes it. */
export function jsonString(s: string): string {
  return JSON.stringify(s).replace(HTML_UNSAFE, (c) => GO_ESCAPES[c]!);
}

/** `{"name":"value",...}` in label order. */
export function encodeLabels(labels: Labels): string {
  let out = "{";
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (i > 0) out += ",";
    out += jsonString(l.name) + ":" + jsonString(l.value);
  }
  return out + "}";
}

function samplePair(t: number, v: number): string {
  return `[${formatSampleTime(t)},"${formatSampleValue(v)}"]`;
}

/** The `data` object of a query response: `{"resultType":…,"result":…}`. */
export function encodeQueryData(value: ApiValue): string {
  switch (value.type) {
    case "scalar":
      return `{"resultType":"scalar","result":[${formatScalarTime(value.t)},"${formatFloatFixed(value.v)}"]}`;
    case "string":
      return `{"resultType":"string","result":[${formatScalarTime(value.t)},${jsonString(value.v)}]}`;
    case "vector": {
      const parts = value.samples.map((s) => `{"metric":${encodeLabels(s.labels)},"value":${samplePair(s.t, s.v)}}`);
      return `{"resultType":"vector","result":[${parts.join(",")}]}`;
    }
    case "matrix": {
      const parts: string[] = [];
      for (const s of value.series) {
        const points: string[] = new Array(s.t.length);
        for (let i = 0; i < s.t.length; i++) points[i] = samplePair(s.t[i]!, s.v[i]!);
        parts.push(`{"metric":${encodeLabels(s.labels)},"values":[${points.join(",")}]}`);
      }
      return `{"resultType":"matrix","result":[${parts.join(",")}]}`;
    }
  }
}

/** A success envelope around already-encoded `data`, with warnings when there are any. */
export function encodeSuccess(data: string, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  let out = `{"status":"success","data":${data}`;
  if (warnings.length > 0) out += `,"warnings":[${warnings.map(jsonString).join(",")}]`;
  if (infos.length > 0) out += `,"infos":[${infos.map(jsonString).join(",")}]`;
  return out + "}";
}

/** An error envelope: `{"status":"error","errorType":…,"error":…}`. */
export function encodeError(errorType: string, message: string, warnings: readonly string[] = []): string {
  let out = `{"status":"error","errorType":${jsonString(errorType)},"error":${jsonString(message)}`;
  if (warnings.length > 0) out += `,"warnings":[${warnings.map(jsonString).join(",")}]`;
  return out + "}";
}

/** A JSON array of strings (label names, label values). */
export function encodeStrings(values: readonly string[]): string {
  return `[${values.map(jsonString).join(",")}]`;
}
