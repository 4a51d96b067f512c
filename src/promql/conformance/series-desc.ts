/**
 * Parser for the series notation of Prometheus test scripts (`parser.ParseSeriesDesc`):
 * `metric{l="v"} 0+10x3 _ stale -2-1x3 1x2 _x4 {{schema:0 ...}}`. Expansion rules: `a+bxN` gives
 * N+1 values, `axN` N+1 copies, `_xN` N omitted points (not N+1), `stale` the stale marker.
 * Native-histogram literals are recognised but not decoded (the runner skips such evals).
 */
import { normalizeLabels, type Label, type Labels } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/series.ts";

/** One position of a value sequence. */
export type SeqValue = { readonly kind: "float"; readonly value: number } | { readonly kind: "omitted" } | { readonly kind: "histogram" };

/** A parsed series line. */
export interface SeriesDesc {
  readonly labels: Labels;
  readonly values: SeqValue[];
}

/** Parses a number as the test format does: Go ParseInt (base 0) first, then ParseFloat. */
export function parseNumber(text: string): number {
  const s = text.trim();
  if (/^[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[1-9][0-9_]*|0)$/.test(s)) {
    const neg = s.startsWith("-");
    let body = s.replace(/^[+-]/, "").replace(/_/g, "");
    if (/^0[0-7]+$/.test(body)) body = "0o" + body.slice(1);
    const n = Number(body);
    if (!Number.isNaN(n)) return neg ? -n : n;
  }
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?[0-9]+$/.test(s)) return parseHexFloat(s);
  throw new Error(`error parsing number: ${JSON.stringify(text)}`);
}

function parseHexFloat(s: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?[0-9]+)$/.exec(s)!;
  const mant = parseInt((m[2] || "0") + (m[3] || ""), 16) / 16 ** (m[3] ?? "").length;
  const v = mant * 2 ** Number(m[4]);
  return m[1] === "-" ? -v : v;
}

/** Reads a quoted string (`"…"`, `'…'` with Go escapes, or raw `` `…` ``) at `pos`. */
export function readQuoted(text: string, pos: number): { value: string; end: number } {
  const q = text[pos];
  if (q === "`") {
    const end = text.indexOf("`", pos + 1);
    if (end < 0) throw new Error(`unterminated raw string at ${pos}`);
    return { value: text.slice(pos + 1, end), end: end + 1 };
  }
  if (q !== '"' && q !== "'") throw new Error(`expected quoted string at ${pos}: ${JSON.stringify(text)}`);
  let out = "";
  let i = pos + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === q) return { value: out, end: i + 1 };
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    i += 2;
    switch (e) {
      case "n": out += "\n"; break;
      case "t": out += "\t"; break;
      case "r": out += "\r"; break;
      case "a": out += "\x07"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "v": out += "\v"; break;
      case "\\": out += "\\"; break;
      case '"': out += '"'; break;
      case "'": out += "'"; break;
      case "x": out += String.fromCharCode(parseInt(text.slice(i, i + 2), 16)); i += 2; break;
      case "u": out += String.fromCodePoint(parseInt(text.slice(i, i + 4), 16)); i += 4; break;
      case "U": out += String.fromCodePoint(parseInt(text.slice(i, i + 8), 16)); i += 8; break;
      default:
        if (e !== undefined && /[0-7]/.test(e)) {
          out += String.fromCharCode(parseInt(text.slice(i - 1, i + 2), 8));
          i += 2;
        } else throw new Error(`invalid escape \\${e ?? ""} in ${JSON.stringify(text)}`);
    }
  }
  throw new Error(`unterminated string in ${JSON.stringify(text)}`);
}

const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:.]*/y;

/** Parses the metric part (`name{...}` or `{...}`) and returns labels plus the rest of the line. */
export function parseMetric(line: string): { labels: Labels; rest: string } {
  let pos = 0;
  const pairs: Label[] = [];
  IDENT.lastIndex = 0;
  const m = IDENT.exec(line);
  if (m) {
    pairs.push({ name: "__name__", value: m[0] });
    pos = IDENT.lastIndex;
  }
  if (line[pos] === "{") {
    pos++;
    for (;;) {
      while (/\s/.test(line[pos] ?? "")) pos++;
      if (line[pos] === "}") {
        pos++;
        break;
      }
      let name: string;
      if (line[pos] === '"' || line[pos] === "'" || line[pos] === "`") {
        const q = readQuoted(line, pos);
        pos = q.end;
        while (/\s/.test(line[pos] ?? "")) pos++;
        if (line[pos] !== "=") {
          // A quoted metric name inside braces: {"my.metric", a="b"}.
          pairs.push({ name: "__name__", value: q.value });
          if (line[pos] === ",") pos++;
          continue;
        }
        name = q.value;
      } else {
        IDENT.lastIndex = pos;
        const n = IDENT.exec(line);
        if (!n) throw new Error(`bad label name at ${pos} in ${JSON.stringify(line)}`);
        name = n[0];
        pos = IDENT.lastIndex;
        while (/\s/.test(line[pos] ?? "")) pos++;
      }
      if (line[pos] !== "=") throw new Error(`expected '=' at ${pos} in ${JSON.stringify(line)}`);
      pos++;
      while (/\s/.test(line[pos] ?? "")) pos++;
      const v = readQuoted(line, pos);
      pos = v.end;
      pairs.push({ name, value: v.value });
      while (/\s/.test(line[pos] ?? "")) pos++;
      if (line[pos] === ",") pos++;
    }
  } else if (!m) {
    throw new Error(`expected a metric name or '{' in ${JSON.stringify(line)}`);
  }
  return { labels: normalizeLabels(pairs), rest: line.slice(pos) };
}

const NUM = "[+-]?(?:Inf|NaN|[0-9]*\\.?[0-9]+(?:[eE][+-]?[0-9]+)?)";
const EXPAND = new RegExp(`^(${NUM})(?:([+-])(${NUM.replace("[+-]?", "")}))?x([0-9]+)$`);

function parseNum(s: string): number {
  if (/^[+-]?Inf$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^[+-]?NaN$/.test(s)) return NaN;
  return parseNumber(s);
}

/** Splits a value list into tokens, keeping `{{ ... }}` histogram literals (with suffixes) whole. */
function tokenize(rest: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < rest.length) {
    while (i < rest.length && /\s/.test(rest[i]!)) i++;
    if (i >= rest.length) break;
    let j = i;
    let depth = 0;
    while (j < rest.length && (depth > 0 || !/\s/.test(rest[j]!))) {
      if (rest.startsWith("{{", j)) {
        depth++;
        j += 2;
        continue;
      }
      if (rest.startsWith("}}", j) && depth > 0) {
        depth--;
        j += 2;
        continue;
      }
      j++;
    }
    out.push(rest.slice(i, j));
    i = j;
  }
  return out;
}

/** Expands the value tokens of a series line. */
export function parseValues(rest: string): SeqValue[] {
  const out: SeqValue[] = [];
  for (const tok of tokenize(rest)) {
    if (tok.startsWith("{{")) {
      const m = /x([0-9]+)$/.exec(tok);
      const n = m && tok.lastIndexOf("}}") < m.index ? Number(m[1]) + 1 : 1;
      for (let k = 0; k < n; k++) out.push({ kind: "histogram" });
      continue;
    }
    if (tok === "_") {
      out.push({ kind: "omitted" });
      continue;
    }
    const om = /^_x([0-9]+)$/.exec(tok);
    if (om) {
      for (let k = 0; k < Number(om[1]); k++) out.push({ kind: "omitted" });
      continue;
    }
    if (tok === "stale") {
      out.push({ kind: "float", value: STALE_NAN });
      continue;
    }
    // In series descriptions the lexer has no hex numbers: `0x10` is 0 repeated 11 times.
    const em = EXPAND.exec(tok);
    if (em) {
      const a = parseNum(em[1]!);
      const n = Number(em[4]);
      let b = 0;
      if (em[2] !== undefined) b = (em[2] === "-" ? -1 : 1) * parseNum(em[3]!);
      // Prometheus accumulates by repeated addition, not a + k·b.
      let cur = a;
      for (let k = 0; k <= n; k++) {
        out.push({ kind: "float", value: cur });
        cur += b;
      }
      continue;
    }
    out.push({ kind: "float", value: parseNum(tok) });
  }
  return out;
}

/** Parses a full series line (`metric{...} values...`). */
export function parseSeriesDesc(line: string): SeriesDesc {
  const { labels, rest } = parseMetric(line.trim());
  return { labels, values: parseValues(rest) };
}
