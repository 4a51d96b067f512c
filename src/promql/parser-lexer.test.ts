import { describe, expect, it } from "vitest";
import { PromLexer, type Tok } from "./parser-lexer.ts";
import { describeToken } from "./parser-syntax.ts";

function lex(q: string): string[] {
  const l = new PromLexer(q);
  const out: string[] = [];
  for (;;) {
    const t: Tok = l.next();
    out.push(`${t.kind}@${t.pos}:${t.val}`);
    if (t.kind === "EOF" || t.kind === "ERROR") return out;
  }
}

describe("PromLexer", () => {
  it("splits a query into Prometheus' item kinds", () => {
    expect(lex(`sum by (job) (rate(a:b{x=~"y"}[5m:1m] offset -1h)) > bool 2 and 0x1F`)).toEqual([
      "aggr@0:sum", "keyword@4:by", "(@7:(", "IDENTIFIER@8:job", ")@11:)", "(@13:(", "IDENTIFIER@14:rate", "(@18:(",
      "METRIC_IDENTIFIER@19:a:b", "{@22:{", "IDENTIFIER@23:x", "op@24:=~", `STRING@26:"y"`, "}@29:}", "[@30:[",
      "DURATION@31:5m", ":@33::", "DURATION@34:1m", "]@36:]", "keyword@38:offset", "op@45:-", "DURATION@46:1h",
      ")@48:)", ")@49:)", "op@51:>", "keyword@53:bool", "NUMBER@58:2", "op@60:and", "NUMBER@64:0x1F", "EOF@68:",
    ]);
  });

  it("lexes brackets in duration-expression mode", () => {
    expect(lex("x[step()*2:]")).toEqual([
      "IDENTIFIER@0:x", "[@1:[", "preproc@2:step", "(@6:(", ")@7:)", "op@8:*", "NUMBER@9:2", ":@10::", "]@11:]", "EOF@12:",
    ]);
    expect(lex("x[5m y]").at(-1)).toBe("ERROR@5:unexpected character: 'y', expected ':'");
  });

  it("reports errors at the lexer's item start", () => {
    expect(lex("(a))").at(-1)).toBe("ERROR@4:unexpected right parenthesis ')'");
    expect(lex("sum(").at(-1)).toBe("ERROR@4:unclosed left parenthesis");
    expect(lex("a{b").at(-1)).toBe("ERROR@3:unexpected end of input inside braces");
    expect(lex("1.5.").at(-1)).toBe('ERROR@0:bad number or duration syntax: "1.5."');
    expect(lex(`"a\\q"`).at(-1)).toBe("ERROR@0:unknown escape sequence U+0071 'q'");
  });

  it("treats fill words as keywords only before a parenthesis", () => {
    expect(lex("fill")[0]).toBe("IDENTIFIER@0:fill");
    expect(lex("a + fill (0) b")[2]).toBe("keyword@4:fill");
  });

  it("names tokens as Prometheus' messages do", () => {
    const names = new PromLexer(`foo a:b "str" 5m 1 + and sum by ( , start "a long string value"`);
    const got: string[] = [];
    for (let t = names.next(); t.kind !== "EOF" && t.kind !== "ERROR"; t = names.next()) got.push(describeToken(t));
    expect(got).toEqual([
      `identifier "foo"`, `metric identifier "a:b"`, `string "\\"str\\""`, `duration "5m"`, `number "1"`, "<op:+>",
      "<op:and>", "<aggr:sum>", "<by>", `"("`, `","`, `"start"`, `string "\\"a long st"...`,
    ]);
  });
});
