import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { labelsFromRecord } from "../../model/labels.ts";
import type { FloatSeries } from "../../model/series.ts";
import { createEngine } from "../../promql/engine.ts";
import { createMemoryQueryable } from "../../promql/memory-storage.ts";
import { classifyQueryError } from "./classify-error.ts";
import { createPrometheusApi, decodeUtf8LabelName, utf8ByteLength } from "./routes.ts";
import { parseSeriesSelector } from "./series-selector.ts";

function series(labels: Record<string, string>, points: [number, number][]): FloatSeries {
  return { labels: labelsFromRecord(labels), t: Float64Array.from(points.map((p) => p[0])), v: Float64Array.from(points.map((p) => p[1])) };
}

const data = [
  series({ __name__: "up", job: "api", instance: "a" }, [[0, 1], [15_000, 1], [30_000, 0]]),
  series({ __name__: "up", job: "db", instance: "b" }, [[0, 1], [15_000, 1], [30_000, 1]]),
  series({ __name__: "http_requests_total", job: "api" }, [[0, 10], [15_000, 25], [30_000, 40]]),
];

function app(requests: unknown[] = []) {
  const queryable = createMemoryQueryable(data);
  return createPrometheusApi({
    engine: createEngine(),
    queryable: (o) => {
      requests.push(o);
      return queryable;
    },
    parseSelector: parseSeriesSelector,
    classifyError: classifyQueryError,
    replicaLabels: ["replica"],
    partialResponseDefault: true,
    queryTimeout: 120_000,
    buildInfo: { version: "test" },
    flags: { "query.timeout": "2m" },
  });
}

async function get(path: string, init?: RequestInit) {
  const res = await app().request(`http://x${path}`, init);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

describe("Prometheus HTTP API", () => {
  it("answers instant queries with Prometheus' bytes", async () => {
    const r = await get("/query?query=up&time=30");
    expect(r.status).toBe(200);
    expect(r.type).toBe("application/json");
    expect(r.text).toBe(
      '{"status":"success","data":{"resultType":"vector","result":[' +
        '{"metric":{"__name__":"up","instance":"a","job":"api"},"value":[30,"0"]},' +
        '{"metric":{"__name__":"up","instance":"b","job":"db"},"value":[30,"1"]}]}}',
    );
  });

  it("answers range queries as sorted matrices, with form POST too", async () => {
    const r = await get("/query_range", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "query=sum(up)&start=0&end=30&step=15",
    });
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"2"],[15,"2"],[30,"1"]]}]}}');
  });

  it("answers scalars with Go float formatting", async () => {
    const r = await get("/query?query=1e-7&time=1.5");
    expect(r.text).toBe('{"status":"success","data":{"resultType":"scalar","result":[1.5,"0.0000001"]}}');
  });

  it("reports parse errors as bad_data with the parameter prefix on instant queries", async () => {
    const r = await get("/query?query=sum(up&time=1");
    expect(r.status).toBe(400);
    const body = JSON.parse(r.text);
    expect(body.status).toBe("error");
    expect(body.errorType).toBe("bad_data");
    expect(body.error).toMatch(/^invalid parameter "query": /);
  });

  it("validates range parameters in Prometheus' order and words", async () => {
    expect(JSON.parse((await get("/query_range?query=up&start=10&end=0&step=1")).text).error).toBe('invalid parameter "end": end timestamp must not be before start time');
    expect(JSON.parse((await get("/query_range?query=up&start=0&end=10&step=0")).text).error).toBe(
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    );
    const tooMany = await get("/query_range?query=up&start=0&end=11001&step=1");
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(tooMany.text).error).toBe("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)");
    const badTime = await get("/query_range?query=up&start=abc&end=1&step=1");
    expect(JSON.parse(badTime.text).error).toBe(`invalid parameter "start": cannot parse "abc" to a valid timestamp`);
    // series/labels use parseTimeParam, whose message names the parameter twice (2.42, observed).
    const badSeriesTime = await get("/series?match[]=up&start=abc");
    expect(JSON.parse(badSeriesTime.text).error).toBe(`invalid parameter "start": Invalid time value for 'start': cannot parse "abc" to a valid timestamp`);
  });

  it("maps execution errors to 422", async () => {
    const r = await get("/query?query=" + encodeURIComponent("up + on() up") + "&time=30");
    expect(r.status).toBe(422);
    expect(JSON.parse(r.text).errorType).toBe("execution");
  });

  it("lists series, label names and values", async () => {
    const s = await get("/series?match[]=up&match[]=" + encodeURIComponent('{job="api"}'));
    expect(JSON.parse(s.text).data).toEqual([
      { __name__: "http_requests_total", job: "api" },
      { __name__: "up", instance: "a", job: "api" },
      { __name__: "up", instance: "b", job: "db" },
    ]);
    expect(JSON.parse((await get("/labels")).text).data).toEqual(["__name__", "instance", "job"]);
    expect(JSON.parse((await get("/label/job/values?match[]=up")).text).data).toEqual(["api", "db"]);
    const limited = JSON.parse((await get("/label/job/values?limit=1")).text);
    expect(limited.data).toEqual(["api"]);
    expect(limited.warnings).toEqual(["results truncated due to limit"]);
  });

  it("rejects series requests without a usable match[]", async () => {
    expect((await get("/series")).status).toBe(400);
    const empty = await get("/series?match[]=" + encodeURIComponent('{job=~".*"}'));
    expect(empty.status).toBe(400);
    expect(JSON.parse(empty.text).error).toContain("at least one non-empty matcher");
  });

  it("passes Thanos parameters to the querier", async () => {
    const requests: unknown[] = [];
    await app(requests).request("http://x/query?query=up&time=1&dedup=false&partial_response=false&replicaLabels[]=r1&replicaLabels[]=r2");
    expect(requests[0]).toMatchObject({ dedup: false, partialResponse: false, replicaLabels: ["r1", "r2"] });
    await app(requests).request("http://x/query?query=up&time=1");
    expect(requests[1]).toMatchObject({ dedup: true, partialResponse: true, replicaLabels: ["replica"] });
    expect(requests[1]).not.toHaveProperty("tenant");
    await app(requests).request("http://x/query?query=up&time=1", { headers: { "thanos-tenant": "team-a" } });
    expect(requests[2]).toMatchObject({ tenant: "team-a" });
  });

  it("answers exemplar queries with no exemplars, validating times", async () => {
    const ok = await get("/query_exemplars?query=up&start=0&end=10");
    expect(ok.text).toBe('{"status":"success","data":[]}');
    expect((await get("/query_exemplars?query=up&start=10&end=0")).status).toBe(400);
  });

  it("serves buildinfo and flags", async () => {
    expect(JSON.parse((await get("/status/buildinfo")).text)).toEqual({ status: "success", data: { version: "test" } });
    expect(JSON.parse((await get("/status/flags")).text).data["query.timeout"]).toBe("2m");
  });
});

describe("decodeUtf8LabelName", () => {
  it("decodes Prometheus 3 escaped names", () => {
    expect(decodeUtf8LabelName("U__foo_2e_bar")).toBe("foo.bar");
    expect(decodeUtf8LabelName("U__a__b")).toBe("a_b");
  });
});

describe("response sizes", () => {
  it("utf8ByteLength agrees with TextEncoder, surrogates and lone surrogates included", () => {
    const enc = new TextEncoder();
    for (const s of ["", "abc", "é", "€", "😀", "a\ud800b", "\udc00", "x\ud83d", "\u{10ffff}"]) expect(utf8ByteLength(s)).toBe(enc.encode(s).length);
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => utf8ByteLength(s) === enc.encode(s).length), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => utf8ByteLength(s) === enc.encode(s).length));
  });

  it("small answers carry their exact Content-Length", async () => {
    const res = await app().request("/query?query=up&time=30");
    const body = new Uint8Array(await res.arrayBuffer());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(body.length));
  });
});
