/**
 * RE2 (Go `regexp`) syntax → JavaScript RegExp, for PromQL matchers and `label_replace`.
 * Prometheus anchors regexes (`^(?s:re)$`) and accepts RE2 features JS lacks or spells
 * differently: scoped flags (`(?i)`, `(?i:...)`, `(?-i)`), `(?P<name>...)`, `\Q...\E`, `\z`/`\A`,
 * POSIX classes (`[[:alpha:]]`), `\pL`/`\p{Greek}`, escaped punctuation, and literal braces.
 * Case-insensitivity is applied by expanding letters (`a` → `[aA]`) in the scoped part only.
 */
import { MatcherError } from "./matcher-error.ts";

const SYNTAX = new Set([..."^$\\.*+?()[]{}|/"]);

const POSIX: Record<string, string> = {
  alnum: "0-9A-Za-z", alpha: "A-Za-z", ascii: "\\x00-\\x7F", blank: "\\t ", cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9", graph: "!-~", lower: "a-z", print: " -~", punct: "!-\\/:-@\\[-`{-~", space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z", word: "0-9A-Za-z_", xdigit: "0-9A-Fa-f",
};

function isLetter(c: string): boolean {
  return c.toLowerCase() !== c.toUpperCase();
}

function escapeLiteral(c: string, ci: boolean): string {
  if (ci && isLetter(c)) return `[${c.toLowerCase()}${c.toUpperCase()}]`;
  if (SYNTAX.has(c) || c === "-") return "\\" + c;
  return c;
}

/** `\p{Name}` → JS: general categories stay, script names get `Script=`. */
function unicodeClass(neg: boolean, name: string): string {
  const jsName = /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
  return `\\${neg ? "P" : "p"}{${jsName}}`;
}

/** Translates one escape at `src[i] === "\\"`; returns [text, length consumed]. */
function translateEscape(src: string, i: number, inClass: boolean): [string, number] {
  const next = src[i + 1];
  if (next === undefined) throw new MatcherError("trailing backslash at end of expression");
  if (next === "z") return ["$", 2];
  if (next === "A") return ["^", 2];
  if (next === "p" || next === "P") {
    if (src[i + 2] === "{") {
      const close = src.indexOf("}", i + 3);
      if (close < 0) throw new MatcherError("invalid character class range");
      let name = src.slice(i + 3, close);
      let neg = next === "P";
      if (name.startsWith("^")) {
        neg = !neg;
        name = name.slice(1);
      }
      return [unicodeClass(neg, name), close - i + 1];
    }
    return [unicodeClass(next === "P", src[i + 2] ?? ""), 3];
  }
  if (next === "x" && src[i + 2] === "{") {
    const close = src.indexOf("}", i + 3);
    return [`\\u{${src.slice(i + 3, close)}}`, close - i + 1];
  }
  if (/[0-9A-Za-z]/.test(next)) return ["\\" + next, 2];
  // Escaped punctuation: JS's unicode mode only allows escaping syntax characters.
  if (SYNTAX.has(next) || (inClass && next === "-")) return ["\\" + next, 2];
  return [next, 2];
}

/** Translates RE2 syntax into an equivalent JS pattern (for the `su` flags). */
export function translateRe2(src: string): string {
  let out = "";
  let ci = false;
  const stack: boolean[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") {
      if (src[i + 1] === "Q") {
        const end = src.indexOf("\\E", i + 2);
        const lit = end < 0 ? src.slice(i + 2) : src.slice(i + 2, end);
        for (const ch of lit) out += escapeLiteral(ch, ci);
        i = end < 0 ? src.length : end + 2;
        continue;
      }
      const [t, len] = translateEscape(src, i, false);
      out += ci && t.length === 1 && isLetter(t) ? escapeLiteral(t, true) : t;
      i += len;
      continue;
    }
    if (c === "[") {
      let j = i + 1;
      let cls = "[";
      if (src[j] === "^") {
        cls += "^";
        j++;
      }
      let first = true;
      while (j < src.length && (src[j] !== "]" || first)) {
        first = false;
        const d = src[j]!;
        if (d === "[" && src[j + 1] === ":") {
          const close = src.indexOf(":]", j + 2);
          if (close > 0) {
            let name = src.slice(j + 2, close);
            const neg = name.startsWith("^");
            if (neg) name = name.slice(1);
            const body = POSIX[name];
            if (body === undefined) throw new MatcherError(`invalid character class range: [:${name}:]`);
            if (neg) throw new MatcherError("negated POSIX classes are not supported");
            cls += body;
            j = close + 2;
            continue;
          }
        }
        if (d === "\\") {
          const [t, len] = translateEscape(src, j, true);
          cls += t;
          j += len;
          continue;
        }
        if (d === "[") {
          cls += "\\[";
          j++;
          continue;
        }
        if (ci && isLetter(d)) {
          if (src[j + 1] === "-" && src[j + 2] !== undefined && src[j + 2] !== "]" && isLetter(src[j + 2]!)) {
            const hi = src[j + 2]!;
            cls += `${d.toLowerCase()}-${hi.toLowerCase()}${d.toUpperCase()}-${hi.toUpperCase()}`;
            j += 3;
            continue;
          }
          cls += d.toLowerCase() + d.toUpperCase();
          j++;
          continue;
        }
        cls += d;
        j++;
      }
      if (j >= src.length) throw new MatcherError("missing closing ]");
      out += cls + "]";
      i = j + 1;
      continue;
    }
    if (c === "(") {
      if (src.startsWith("(?P<", i)) {
        stack.push(ci);
        out += "(?<";
        i += 4;
        continue;
      }
      if (src[i + 1] === "?") {
        const m = /^\(\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])/.exec(src.slice(i));
        if (!m) throw new MatcherError(`invalid or unsupported Perl syntax: ${JSON.stringify(src.slice(i, i + 3))}`);
        let next: boolean = ci;
        if (m[1]!.includes("i")) next = true;
        if ((m[2] ?? "").includes("i")) next = false;
        if (m[3] === ")") ci = next;
        else {
          stack.push(ci);
          ci = next;
          out += "(?:";
        }
        i += m[0].length;
        continue;
      }
      stack.push(ci);
      out += "(";
      i++;
      continue;
    }
    if (c === ")") {
      if (stack.length === 0) throw new MatcherError("unexpected )");
      ci = stack.pop()!;
      out += ")";
      i++;
      continue;
    }
    if (c === "{") {
      const m = /^\{\d+(,\d*)?\}/.exec(src.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length;
      } else {
        out += "\\{";
        i++;
      }
      continue;
    }
    if (c === "}") {
      out += "\\}";
      i++;
      continue;
    }
    out += ci && isLetter(c) ? escapeLiteral(c, true) : c;
    i++;
  }
  if (stack.length > 0) throw new MatcherError("missing closing )");
  return out;
}

const cache = new Map<string, RegExp>();

/** Compiles `^(?:re)$` with Prometheus semantics (`.` matches newlines). Cached. */
export function compilePromRegex(source: string): RegExp {
  let re = cache.get(source);
  if (re) return re;
  try {
    re = new RegExp(`^(?:${translateRe2(source)})$`, "su");
  } catch (err) {
    throw new MatcherError(`error parsing regexp: ${(err as Error).message}: \`${source}\``);
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(source, re);
  return re;
}
