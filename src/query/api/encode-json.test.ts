import { describe, expect, it } from "vitest";
import { labelsFromRecord } from "../../model/labels.ts";
import { encodeError, encodeLabels, encodeQueryData, encodeSuccess, jsonString } from "./encode-json.ts";

describe("encodeQueryData", () => {
  it("encodes vectors with sample formatting", () => {
    const data = encodeQueryData({
      type: "vector",
      samples: [{ labels: labelsFromRecord({ __name__: "up", job: "a" }), t: 1700000100500, v: 1 }],
    });
    expect(data).toBe('{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1700000100.500,"1"]}]}');
    expect(JSON.parse(data)).toEqual({ resultType: "vector", result: [{ metric: { __name__: "up", job: "a" }, value: [1700000100.5, "1"] }] });
  });
  it("encodes matrices, empty results as []", () => {
    const m = encodeQueryData({
      type: "matrix",
      series: [{ labels: labelsFromRecord({ a: "b" }), t: new Float64Array([1000, 2000]), v: new Float64Array([Infinity, 1e-7]) }],
    });
    expect(m).toBe('{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"+Inf"],[2,"1e-07"]]}]}');
    expect(encodeQueryData({ type: "vector", samples: [] })).toBe('{"resultType":"vector","result":[]}');
  });
  it("encodes scalars and strings with Go float formatting", () => {
    expect(encodeQueryData({ type: "scalar", t: 1700000100500, v: 1e-7 })).toBe('{"resultType":"scalar","result":[1700000100.5,"0.0000001"]}');
    expect(encodeQueryData({ type: "string", t: 1000, v: "a<b" })).toBe('{"resultType":"string","result":[1,"a\\u003cb"]}');
  });
});

describe("envelopes", () => {
  it("adds warnings only when present", () => {
    expect(encodeSuccess("[]")).toBe('{"status":"success","data":[]}');
    expect(encodeSuccess("[]", ["w"])).toBe('{"status":"success","data":[],"warnings":["w"]}');
    expect(encodeError("bad_data", "x")).toBe('{"status":"error","errorType":"bad_data","error":"x"}');
  });
  it("escapes like Go", () => {
    expect(jsonString("<&>\u2028")).toBe('"\\u003c\\u0026\\u003e\\u2028"');
    expect(encodeLabels(labelsFromRecord({ b: '"q"', a: "x" }))).toBe('{"a":"x","b":"\\"q\\""}');
  });
});
