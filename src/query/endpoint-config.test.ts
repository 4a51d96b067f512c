import { describe, expect, it } from "vitest";
import { EndpointConfigError, endpointSpecsFromFlags, parseEndpointSdConfig } from "./endpoint-config.ts";
import { parseEndpointAddress } from "./store-client.ts";

describe("parseEndpointSdConfig", () => {
  it("accepts Thanos' endpoints: form, plain lists and file_sd targets", () => {
    expect(parseEndpointSdConfig("endpoints:\n  - address: a:1\n    strict: true\n  - address: http://b:2/\n")).toEqual([
      { address: "a:1", strict: true },
      { address: "http://b:2/" },
    ]);
    expect(parseEndpointSdConfig("- a:1\n- address: c:3\n  bearer_token: t\n")).toEqual([{ address: "a:1" }, { address: "c:3", bearerToken: "t" }]);
    expect(parseEndpointSdConfig("- targets: [a:1, b:2]\n  labels: {x: y}\n")).toEqual([{ address: "a:1" }, { address: "b:2" }]);
    expect(parseEndpointSdConfig("")).toEqual([]);
    expect(parseEndpointSdConfig("endpoints: []\n")).toEqual([]);
  });

  it("merges duplicates, strict winning", () => {
    expect(parseEndpointSdConfig("- a:1\n- {address: a:1, strict: true}\n")).toEqual([{ address: "a:1", strict: true }]);
  });

  it("names the file and entry on errors", () => {
    expect(() => parseEndpointSdConfig("- a:1\n- nope\n", "sd.yml")).toThrow(/sd\.yml: \[1\]: invalid endpoint "nope"/);
    expect(() => parseEndpointSdConfig("endpoints:\n  - adress: a:1\n", "sd.yml")).toThrow(/sd\.yml: endpoints\[0\]: unknown field "adress"/);
    expect(() => parseEndpointSdConfig("endpoints:\n  - strict: true\n", "f")).toThrow(/missing "address"/);
    expect(() => parseEndpointSdConfig("foo: 1\n", "f")).toThrow(EndpointConfigError);
    expect(() => parseEndpointSdConfig("- [unclosed\n", "f")).toThrow(/invalid YAML/);
    expect(() => parseEndpointSdConfig("- dns+store:10901\n", "f")).toThrow(/invalid endpoint/);
  });

  it("validates --endpoint flags", () => {
    expect(endpointSpecsFromFlags(["a:1", "a:1", "https://x.example/store"])).toEqual([{ address: "a:1" }, { address: "https://x.example/store" }]);
    expect(() => endpointSpecsFromFlags(["grpc://a:1"])).toThrow(/--endpoint\[0\].*only host:port/);
  });
});

describe("parseEndpointAddress", () => {
  it("maps host:port to gRPC and URLs to Connect", () => {
    expect(parseEndpointAddress("store:10901")).toEqual({ protocol: "grpc", address: "store:10901", baseUrl: "http://store:10901" });
    expect(parseEndpointAddress("[::1]:10901").baseUrl).toBe("http://[::1]:10901");
    expect(parseEndpointAddress("https://edge.example/meridian/")).toEqual({ protocol: "connect", address: "https://edge.example/meridian/", baseUrl: "https://edge.example/meridian" });
    expect(() => parseEndpointAddress(":10901")).toThrow(/missing host/);
  });
});
