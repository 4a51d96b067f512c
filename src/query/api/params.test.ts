import { describe, expect, it } from "vitest";
import { ApiError } from "./errors.ts";
import { MAX_TIME, MIN_TIME, parseApiDuration, parseTime, readParams } from "./params.ts";

describe("parseTime", () => {
  it("parses Unix seconds with ms rounding half away from zero", () => {
    expect(parseTime("1700000100", "time")).toBe(1700000100000);
    expect(parseTime("1700000100.5", "time")).toBe(1700000100500);
    expect(parseTime("0.0005", "time")).toBe(1);
    expect(parseTime("1.0004", "time")).toBe(1000);
    expect(parseTime("-1.5", "time")).toBe(-1500);
  });
  it("parses RFC 3339 with fraction and offset", () => {
    expect(parseTime("2015-07-01T20:10:51.781Z", "time")).toBe(Date.UTC(2015, 6, 1, 20, 10, 51, 781));
    expect(parseTime("2015-07-01T22:10:51+02:00", "time")).toBe(Date.UTC(2015, 6, 1, 20, 10, 51));
  });
  it("accepts the min/max sentinels", () => {
    expect(parseTime("-292273086-05-16T16:47:06Z", "start")).toBe(MIN_TIME);
    expect(parseTime("292277025-08-18T07:12:54.999999999Z", "end")).toBe(MAX_TIME);
  });
  it("rejects garbage with Prometheus' message", () => {
    try {
      parseTime("abc", "time");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as Error).message).toBe(`invalid parameter "time": Invalid time value for 'time': cannot parse "abc" to a valid timestamp`);
    }
  });
});

describe("parseApiDuration", () => {
  it("accepts float seconds and durations", () => {
    expect(parseApiDuration("30", "step")).toBe(30_000);
    expect(parseApiDuration("0.25", "step")).toBe(250);
    expect(parseApiDuration("1h30m", "step")).toBe(5_400_000);
  });
  it("rejects bad durations", () => {
    expect(() => parseApiDuration("1x", "step")).toThrow(/invalid parameter "step"/);
    // Finite but too large for int64 ns overflows; out of float range is just unparsable (as Go).
    expect(() => parseApiDuration("1e300", "step")).toThrow('invalid parameter "step": cannot parse "1e300" to a valid duration. It overflows int64');
    expect(() => parseApiDuration("1e400", "step")).toThrow(/^invalid parameter "step": cannot parse "1e400" to a valid duration$/);
  });
});

describe("readParams", () => {
  it("merges query string and form body, keeping repeated keys", async () => {
    const req = new Request("http://x/api/v1/series?match[]=up", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "match[]=foo&start=1",
    });
    const p = await readParams(req);
    expect(p.getAll("match[]")).toEqual(["up", "foo"]);
    expect(p.get("start")).toBe("1");
    expect(p.get("end")).toBeUndefined();
  });
});
