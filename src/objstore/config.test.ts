import { describe, expect, it } from "vitest";
import { parseObjstoreConfig } from "./config.ts";
import { s3EndpointUrl } from "./s3-bucket.ts";

describe("parseObjstoreConfig", () => {
  it("parses a Thanos S3 config unchanged", () => {
    const c = parseObjstoreConfig(`
type: s3
config:
  bucket: thanos
  endpoint: minio:9000
  region: eu-west-1
  access_key: AK
  secret_key: SK
  insecure: true
  signature_version2: false
  http_config:
    idle_conn_timeout: 90s
prefix: tenant
`);
    expect(c.type).toBe("S3");
    if (c.type !== "S3") throw new Error("type");
    expect(c.s3).toMatchObject({ bucket: "thanos", endpoint: "minio:9000", region: "eu-west-1", accessKey: "AK", secretKey: "SK", insecure: true, bucketLookupType: "auto" });
    expect(c.prefix).toBe("tenant");
    expect(c.ignored).toEqual(["signature_version2", "http_config"]);
  });

  it("parses FILESYSTEM", () => {
    expect(parseObjstoreConfig("type: FILESYSTEM\nconfig:\n  directory: /var/blocks\n")).toEqual({ type: "FILESYSTEM", directory: "/var/blocks", prefix: "", ignored: [] });
  });

  it("names unknown types, unknown fields and missing fields", () => {
    expect(() => parseObjstoreConfig("type: GCS\nconfig:\n  bucket: x\n")).toThrow(/unsupported bucket type "GCS"/);
    expect(() => parseObjstoreConfig("config:\n  directory: x\n")).toThrow(/missing required field type/);
    expect(() => parseObjstoreConfig("type: FILESYSTEM\nconfig: {}\n")).toThrow(/FILESYSTEM config: missing required field directory/);
    expect(() => parseObjstoreConfig("type: FILESYSTEM\nconfig:\n  directory: d\n  dir: e\n")).toThrow(/unknown field dir/);
    expect(() => parseObjstoreConfig("type: S3\nconfig:\n  endpoint: e\n")).toThrow(/S3 config: missing required field bucket/);
    expect(() => parseObjstoreConfig("type: S3\nconfig:\n  bucket: b\n")).toThrow(/S3 config: missing required field endpoint/);
    expect(() => parseObjstoreConfig("type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  access_key: a\n")).toThrow(/missing required field secret_key/);
    expect(() => parseObjstoreConfig("type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  bogus: 1\n")).toThrow(/S3 config: unknown field bogus/);
    expect(() => parseObjstoreConfig("type: S3\ncfg: {}\n")).toThrow(/unknown field cfg/);
    expect(() => parseObjstoreConfig("type: [")).toThrow(/invalid YAML/);
  });

  it("builds endpoint URLs like Thanos", () => {
    expect(s3EndpointUrl("minio:9000", true)).toBe("http://minio:9000");
    expect(s3EndpointUrl("s3.amazonaws.com")).toBe("https://s3.amazonaws.com");
    expect(s3EndpointUrl("http://x:1")).toBe("http://x:1");
  });
});
