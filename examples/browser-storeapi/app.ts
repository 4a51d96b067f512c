/**
 * Browser client of the Meridian StoreAPI: LabelNames, LabelValues and a streaming Series call
 * straight from a page over Connect (`@connectrpc/connect-web`), no querier or proxy in between.
 * Bundle it with `npx esbuild examples/browser-storeapi/app.ts --bundle --format=esm
 * --outfile=examples/browser-storeapi/app.js`. Query parameters prefill the form (`store`, `token`,
 * `selector`, `label`, `start`, `end`); `run=1` submits it on load.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { LabelNamesRequestSchema, LabelValuesRequestSchema, SeriesRequestSchema, Store } from "../../src/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type, type LabelMatcher } from "../../src/gen/store/storepb/types_pb.ts";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const OPS: Record<string, LabelMatcher_Type> = { "=": LabelMatcher_Type.EQ, "!=": LabelMatcher_Type.NEQ, "=~": LabelMatcher_Type.RE, "!~": LabelMatcher_Type.NRE };

/** Parses `{a="x", b=~"y.*"}` (or `metric{...}`) into StoreAPI matchers. */
export function parseSelector(text: string): LabelMatcher[] {
  const t = text.trim();
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?$/s.exec(t);
  if (!m || (!m[1] && m[2] === undefined)) throw new Error(`not a series selector: ${text}`);
  const out: LabelMatcher[] = [];
  if (m[1]) out.push({ $typeName: "thanos.LabelMatcher", type: LabelMatcher_Type.EQ, name: "__name__", value: m[1] });
  const body = m[2] ?? "";
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/gy;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const mm = re.exec(body);
    if (!mm) throw new Error(`cannot parse matcher at ${JSON.stringify(body.slice(pos))}`);
    out.push({ $typeName: "thanos.LabelMatcher", type: OPS[mm[2]!]!, name: mm[1]!, value: JSON.parse(`"${mm[3]!}"`) as string });
    pos = re.lastIndex;
  }
  if (out.length === 0) throw new Error("a selector needs at least one matcher");
  return out;
}

function el<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function chips(target: HTMLElement, values: readonly string[]): void {
  target.replaceChildren(...values.map((v) => Object.assign(document.createElement("span"), { textContent: v })));
}

function iso(ms: bigint): string {
  return new Date(Number(ms)).toISOString();
}

async function run(): Promise<void> {
  const status = el("status");
  status.className = "";
  status.textContent = "querying…";
  const tbody = el<HTMLTableElement>("series").tBodies[0]!;
  tbody.replaceChildren();
  try {
    const baseUrl = el<HTMLInputElement>("store").value.trim().replace(/\/+$/, "");
    const token = el<HTMLInputElement>("token").value;
    const auth: Interceptor[] = token ? [(next) => (req) => { req.header.set("authorization", `Bearer ${token}`); return next(req); }] : [];
    const store = createClient(Store, createConnectTransport({ baseUrl, useBinaryFormat: true, interceptors: auth }));
    const matchers = parseSelector(el<HTMLInputElement>("selector").value);
    const startText = el<HTMLInputElement>("start").value.trim();
    const endText = el<HTMLInputElement>("end").value.trim();
    const start = startText ? BigInt(startText) : INT64_MIN;
    const end = endText ? BigInt(endText) : INT64_MAX;
    const label = el<HTMLInputElement>("label").value.trim() || "__name__";

    const [names, values] = await Promise.all([
      store.labelNames(create(LabelNamesRequestSchema, { start, end })),
      store.labelValues(create(LabelValuesRequestSchema, { label, start, end })),
    ]);
    chips(el("label-names"), names.names);
    el("values-of").textContent = label;
    chips(el("label-values"), values.values);

    let series = 0;
    let samples = 0;
    const warnings: string[] = [];
    for await (const frame of store.series(create(SeriesRequestSchema, { minTime: start, maxTime: end, matchers }))) {
      const list = frame.result.case === "series" ? [frame.result.value] : frame.result.case === "batch" ? frame.result.value.series : [];
      if (frame.result.case === "warning") warnings.push(frame.result.value);
      for (const s of list) {
        // Every TSDB chunk starts with its sample count (2 bytes, big endian).
        const n = s.chunks.reduce((acc, c) => acc + (c.raw && c.raw.data.length >= 2 ? (c.raw.data[0]! << 8) | c.raw.data[1]! : 0), 0);
        const row = tbody.insertRow();
        row.dataset.series = "";
        const cells = [
          `{${s.labels.map((l) => `${l.name}="${l.value}"`).join(", ")}}`,
          String(s.chunks.length),
          String(n),
          s.chunks.length ? iso(s.chunks[0]!.minTime) : "",
          s.chunks.length ? iso(s.chunks[s.chunks.length - 1]!.maxTime) : "",
        ];
        for (const c of cells) row.insertCell().textContent = c;
        series++;
        samples += n;
      }
    }
    status.textContent = `done: ${series} series, ${samples} samples, ${names.names.length} label names${warnings.length ? `; warnings: ${warnings.join("; ")}` : ""}`;
  } catch (err) {
    const e = ConnectError.from(err);
    status.className = "error";
    status.textContent = `error: [${Code[e.code] ?? e.code}] ${e.rawMessage}`;
  }
}

const form = el<HTMLFormElement>("form");
form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  void run();
});
const params = new URLSearchParams(location.search);
for (const key of ["store", "token", "selector", "label", "start", "end"]) {
  const v = params.get(key);
  if (v !== null) el<HTMLInputElement>(key).value = v;
}
if (params.get("run") === "1") void run();
