import { describe, expect, it } from "vitest";
import type { Expr } from "./ast.ts";
import { ParseError, parseExpr } from "./parser.ts";

/** Compact rendering of an AST for structural assertions. */
function show(e: Expr): string {
  switch (e.kind) {
    case "number":
      return String(e.value);
    case "string":
      return JSON.stringify(e.value);
    case "vectorSelector": {
      const ms = e.matchers.filter((m) => m.name !== "__name__").map((m) => `${m.name}${m.type}${JSON.stringify(m.value)}`);
      let s = `${e.name}{${ms.join(",")}}`;
      if (e.offset) s += ` offset ${e.offset}`;
      if (e.timestamp !== null) s += ` @${e.timestamp}`;
      if (e.startOrEnd) s += ` @${e.startOrEnd}()`;
      return s;
    }
    case "matrixSelector":
      return `${show(e.vectorSelector)}[${e.range}]`;
    case "subquery":
      return `(${show(e.expr)})[${e.range}:${e.step}]${e.offset ? ` offset ${e.offset}` : ""}`;
    case "binary": {
      const m = e.matching;
      const mod = m && (m.matchingLabels.length || m.on || m.card === "many-to-one" || m.card === "one-to-many") ? ` ${m.on ? "on" : "ignoring"}(${m.matchingLabels})${m.card}(${m.include})` : "";
      return `(${show(e.lhs)} ${e.op}${e.returnBool ? " bool" : ""}${mod} ${show(e.rhs)})`;
    }
    case "unary":
      return `${e.op}${show(e.expr)}`;
    case "paren":
      return `(${show(e.expr)})`;
    case "aggregate":
      return `${e.op}${e.without ? " without" : " by"}(${e.grouping})(${e.param ? show(e.param) + ", " : ""}${show(e.expr)})`;
    case "call":
      return `${e.func}(${e.args.map(show).join(", ")})`;
  }
}

const p = (q: string): string => show(parseExpr(q, { experimentalFunctions: true }));

function parseError(q: string): ParseError {
  try {
    parseExpr(q);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error(`expected ${q} to fail`);
}

describe("parseExpr: literals", () => {
  it.each([
    ["0x1f", 31],
    ["1e3", 1000],
    [".5", 0.5],
    ["2.", 2],
    ["1_000", 1000],
    ["Inf", Infinity],
    ["-inf", -Infinity],
    ["5m", 300],
    ["1h30m", 5400],
    ["-2 ^ 2", -4],
  ])("%s", (q, want) => {
    const e = parseExpr(q);
    if (e.kind === "number") expect(e.value).toBe(want);
    else expect(q).toBe("-2 ^ 2"); // unary over a binary, checked below
  });

  it("parses NaN and strings with Go escapes", () => {
    const n = parseExpr("NaN");
    expect(n.kind === "number" && Number.isNaN(n.value)).toBe(true);
    expect(p(`"a\\x41\\u00e9\\n"`)).toBe(JSON.stringify("aAé\n"));
    expect(p("`raw\\n`")).toBe(JSON.stringify("raw\\n"));
    expect(p("'single'")).toBe(JSON.stringify("single"));
  });
});

describe("parseExpr: precedence and postfix modifiers", () => {
  it("binds unary minus looser than ^ and tighter than *", () => {
    expect(p("-2 ^ 2")).toBe("-(2 ^ 2)");
    expect(p("-a * b")).toBe("(-a{} * b{})");
    expect(p("a ^ b ^ c")).toBe("(a{} ^ (b{} ^ c{}))");
    expect(p("a + b * c - d")).toBe("((a{} + (b{} * c{})) - d{})");
    expect(p("a or b and c unless d")).toBe("(a{} or ((b{} and c{}) unless d{}))");
  });

  it("applies offset, @ and ranges to the nearest selector", () => {
    expect(p("a * b offset 1m + c")).toBe("((a{} * b{} offset 60000) + c{})");
    expect(p("rate(x[5m] offset -1m)")).toBe("rate(x{} offset -60000[300000])");
    expect(p("x @ 123.5")).toBe("x{} @123500");
    expect(p("x[1m] @ start()")).toBe("x{} @start()[60000]");
    expect(p("rate(x[5m])[30m:1m] offset 5m")).toBe("(rate(x{}[300000]))[1800000:60000] offset 300000");
    expect(p("x[5m:]")).toBe("(x{})[300000:0]");
  });

  it("parses selectors with quoted UTF-8 names and all matcher types", () => {
    // As in Prometheus 3, a name inside the braces is a __name__ matcher, not the selector's name.
    expect(p(`{"foo.bar", a="1", b!="2", c=~"x.*", d!~"y"}`)).toBe(`{a="1",b!="2",c=~"x.*",d!~"y"}`);
    const vs = parseExpr(`{"foo.bar", a="1"}`);
    expect(vs.kind === "vectorSelector" && vs.matchers.map((m) => `${m.name}${m.type}${m.value}`)).toEqual(["__name__=foo.bar", "a=1"]);
    expect(() => parseExpr(`{"a", "b"}`)).not.toThrow();
    expect(() => parseExpr(`foo{"bar"}`)).toThrow(`1:1: parse error: metric name must not be set twice: "foo" or "bar"`);
    expect(p(`{"a.b"="v", __name__="m"}`)).toBe(`{a.b="v"}`);
  });

  it("parses aggregations, matching and bool modifiers", () => {
    expect(p("sum by (a, b) (x)")).toBe("sum by(a,b)(x{})");
    expect(p("sum(x) without (a)")).toBe("sum without(a)(x{})");
    expect(p("topk(3, x)")).toBe("topk by()(3, x{})");
    expect(p(`count_values("v", x)`)).toBe(`count_values by()("v", x{})`);
    expect(p("a + on(b) group_left(c) d")).toBe("(a{} + on(b)many-to-one(c) d{})");
    expect(p("a / ignoring(b) group_right d")).toBe("(a{} / ignoring(b)one-to-many() d{})");
    expect(p("a > bool 1")).toBe("(a{} > bool 1)");
    expect(p("a and on(x) b")).toBe("(a{} and on(x)many-to-many() b{})");
  });

  it("keeps the regex semantics of RE2 in matchers", () => {
    const e = parseExpr(`x{a=~"(?i:pro).*", b=~"[[:digit:]]+"}`);
    if (e.kind !== "vectorSelector") throw new Error("not a selector");
    const [, a, b] = e.matchers;
    expect(a!.matches("PROduction")).toBe(true);
    expect(a!.matches("dev")).toBe(false);
    expect(b!.matches("123")).toBe(true);
    expect(b!.matches("12a")).toBe(false);
  });
});

describe("parseExpr: type errors worded like Prometheus", () => {
  it.each([
    ["1 < 2", "1:3: parse error: comparisons between scalars must use BOOL modifier"],
    ["rate(x)", `1:6: parse error: expected type range vector in call to function "rate", got instant vector`],
    [`{a=""}`, "1:1: parse error: vector selector must contain at least one non-empty matcher"],
    ["foo{", "1:5: parse error: unexpected end of input inside braces"],
    ["sum(foo", "1:8: parse error: unclosed left parenthesis"],
    ["foo)", "1:5: parse error: unexpected right parenthesis ')'"],
    [`foo{a="b`, "1:7: parse error: unterminated quoted string"],
    ["nope(x)", `1:1: parse error: unknown function with name "nope"`],
    ["sum(x) offset 1m", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"],
    ["x and 1", `1:1: parse error: set operator "and" not allowed in binary scalar expression`],
    ["a + on(b) group_left(b) c", `1:3: parse error: label "b" must not occur in ON and GROUP clause at once`],
    ["x[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"],
    ["1 + bool 2", "1:3: parse error: bool modifier can only be used on comparison operators"],
    ["topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"],
    ["label_join(x)", `1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1`],
    ["round(x, 1, 2)", `1:1: parse error: expected at most 2 argument(s) in call to "round", got 3`],
    ["x offset 1m[5m]", "1:12: parse error: no offset modifiers allowed before range"],
    ["sum(x)[5m]", "1:7: parse error: ranges only allowed for vector selectors"],
    ["limitk(1, x)", "1:1: parse error: limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions"],
  ])("%s", (q, msg) => {
    const err = parseError(q);
    expect(err.message).toBe(msg);
    expect(err.kind).toBe("bad_data");
  });

  it("reports line and column of multi-line queries", () => {
    const err = parseError("sum(\n  rate(x)\n)");
    expect([err.line, err.column]).toEqual([2, 8]);
  });
});
