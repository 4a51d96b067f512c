import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { LabelMatcher_Type } from "../gen/store/storepb/types_pb.ts";
import type { LabelMatcher } from "../gen/store/storepb/types_pb.ts";
import { labelsFromRecord } from "../model/labels.ts";
import { labelsFromProto, labelsToProto, matchersFromProto, matchersToProto } from "./store-api-convert.ts";
import { constantTimeEqual, isAuthorized } from "./auth.ts";
import { splitHostPort } from "./address.ts";

const m = (type: number, name: string, value: string): LabelMatcher => ({ $typeName: "thanos.LabelMatcher", type, name, value });

describe("matchersFromProto", () => {
  it("compiles all four types with Prometheus semantics", () => {
    const ms = matchersFromProto([m(LabelMatcher_Type.EQ, "a", "1"), m(LabelMatcher_Type.NEQ, "b", "2"), m(LabelMatcher_Type.RE, "c", "x|y"), m(LabelMatcher_Type.NRE, "d", "z.*")]);
    expect(ms.map((x) => x.type)).toEqual(["=", "!=", "=~", "!~"]);
    expect(ms[2]!.matches("x")).toBe(true);
    expect(ms[2]!.matches("xy")).toBe(false); // anchored
    expect(ms[3]!.matches("zz")).toBe(false);
    expect(matchersToProto(ms).map((x) => x.type)).toEqual([0, 1, 2, 3]);
  });

  it("throws InvalidArgument naming the matcher for bad regex and unknown type", () => {
    const bad = (() => { try { matchersFromProto([m(LabelMatcher_Type.RE, "job", "a(")]); } catch (e) { return e; } })();
    expect(bad).toBeInstanceOf(ConnectError);
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
    expect((bad as ConnectError).rawMessage).toContain('job=~"a("');
    expect(() => matchersFromProto([m(9, "job", "a")])).toThrow(/unknown matcher type 9/);
  });
});

describe("labels conversion", () => {
  it("round-trips and sorts unsorted wire labels", () => {
    const ls = labelsFromRecord({ b: "2", a: "1" });
    const wire = labelsToProto(ls);
    expect(wire[0]!.$typeName).toBe("thanos.Label");
    expect(labelsFromProto(wire)).toBe(wire); // sorted: no copy
    const unsorted = [wire[1]!, wire[0]!];
    expect(labelsFromProto(unsorted).map((l) => l.name)).toEqual(["a", "b"]);
  });
});

describe("auth helpers", () => {
  it("compares tokens exactly", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("ab", "abc")).toBe(false);
    expect(constantTimeEqual("abcd", "abc")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
    expect(isAuthorized("Bearer t", "t")).toBe(true);
    expect(isAuthorized("bearer t", "t")).toBe(true);
    expect(isAuthorized("Bearer t ", "t")).toBe(false);
    expect(isAuthorized(null, "t")).toBe(false);
    expect(isAuthorized("t", "t")).toBe(false);
  });
});

describe("splitHostPort", () => {
  it("parses Thanos-style addresses", () => {
    expect(splitHostPort("127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(splitHostPort(":10901")).toEqual({ host: "", port: 10901 });
    expect(splitHostPort("[::1]:9090")).toEqual({ host: "::1", port: 9090 });
    expect(() => splitHostPort("localhost")).toThrow(/missing port/);
    expect(() => splitHostPort("h:99999")).toThrow(/0\.\.65535/);
    expect(() => splitHostPort("::1:80")).toThrow(/brackets/);
  });
});
