/**
 * Text-level helpers of the parser: same-length rewrites that let the lezer grammar accept what
 * Prometheus' own lexer accepts (`2.`, `STEP()`, scalar `min_of`/`max_of`), and Go-style string
 * literal unquoting.
 */

/**
 * Prometheus accepts number literals with a trailing dot (`2.`, `1./6.`) which the lezer grammar
 * does not; such dots are replaced by a space (same length, so positions stay valid). Upper-case
 * duration functions (`STEP()`) are lower-cased. Strings and comments are left alone.
 */
export function maskTrailingDots(q: string): string {
  let out: string[] | null = null;
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (c === '"' || c === "'" || c === "`") {
      for (i++; i < q.length && q[i] !== c; i++) if (q[i] === "\\" && c !== "`") i++;
      continue;
    }
    if (c === "#") {
      while (i < q.length && q[i] !== "\n") i++;
      continue;
    }
    if (/[A-Za-z_:]/.test(c)) {
      const from = i;
      while (i + 1 < q.length && /[A-Za-z0-9_:]/.test(q[i + 1]!)) i++;
      // Duration functions are case-insensitive in Prometheus (`STEP()`), not in the lezer grammar.
      const word = q.slice(from, i + 1);
      if (/^(step|range|min_of|max_of)$/i.test(word) && word !== word.toLowerCase() && /^\s*\(/.test(q.slice(i + 1))) {
        out ??= [...q];
        for (let k = from; k <= i; k++) out[k] = q[k]!.toLowerCase();
      }
      continue;
    }
    if (c >= "0" && c <= "9") {
      let j = i;
      while (j + 1 < q.length && /[0-9_]/.test(q[j + 1]!)) j++;
      if (q[j + 1] === "." && !/[0-9]/.test(q[j + 2] ?? "")) {
        out ??= [...q];
        out[j + 1] = " ";
      }
      i = j;
    }
  }
  return out ? out.join("") : q;
}

/**
 * `min_of(a, b)` / `max_of(a, b)` (experimental scalar functions) are only duration functions in
 * the lezer grammar; outside brackets they are masked as the same-length `minute` and renamed back
 * when the call is converted.
 */
export function maskScalarOfFunctions(q: string, renamed: Map<number, string>): string {
  if (!/\b(min|max)_of\s*\(/.test(q)) return q;
  let depth = 0;
  let out = "";
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      for (; j < q.length && q[j] !== c; j++) if (q[j] === "\\" && c !== "`") j++;
      out += q.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === "[") depth++;
    else if (c === "]") depth--;
    if (/^offset\b/i.test(q.slice(i, i + 7)) && !/[A-Za-z0-9_:]/.test(q[i - 1] ?? "")) {
      // The offset's duration (sign, then a number, step(), range(), min_of(...), or a parenthesised
      // expression) is a duration context: copy it unchanged.
      let j = i + 6;
      while (j < q.length && /[\s+-]/.test(q[j]!)) j++;
      const fn = /^(min_of|max_of|step|range)\s*/i.exec(q.slice(j));
      if (fn) j += fn[0].length;
      if (q[j] === "(") {
        let d = 0;
        for (; j < q.length; j++) {
          if (q[j] === "(") d++;
          else if (q[j] === ")" && --d === 0) break;
        }
      }
      out += q.slice(i, j + 1);
      i = j;
      continue;
    }
    const m = depth === 0 && !/[A-Za-z0-9_:]/.test(q[i - 1] ?? "") ? /^(min|max)_of(?=\s*\()/.exec(q.slice(i, i + 8)) : null;
    if (m) {
      renamed.set(i, m[0]);
      out += "minute";
      i += 5;
      continue;
    }
    out += c;
  }
  return out;
}

/** Unquotes a PromQL string literal with Go's rules ("..." and '...' with escapes, `raw`). */
export function unquoteString(s: string): string {
  const q = s[0];
  if (s.length < 2 || s[s.length - 1] !== q) throw new Error("unterminated quoted string");
  const body = s.slice(1, -1);
  if (q === "`") return body;
  if (q !== '"' && q !== "'") throw new Error("invalid syntax");
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\") {
      if (ch === q) throw new Error("invalid syntax");
      out += ch;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case "a": out += "\x07"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "n": out += "\n"; break;
      case "r": out += "\r"; break;
      case "t": out += "\t"; break;
      case "v": out += "\v"; break;
      case "\\": out += "\\"; break;
      case "'": case '"':
        if (e !== q) throw new Error(`unknown escape sequence`);
        out += e;
        break;
      case "x": case "u": case "U": {
        const len = e === "x" ? 2 : e === "u" ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw new Error("invalid syntax");
        const code = parseInt(hex, 16);
        if (e === "x") out += decodeByteEscapes(body, i - 1, (next, str) => { i = next; return str; });
        else {
          if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) throw new Error("invalid syntax");
          out += String.fromCodePoint(code);
          i += len;
        }
        break;
      }
      default: {
        if (e !== undefined && e >= "0" && e <= "7") {
          out += decodeByteEscapes(body, i - 1, (next, str) => { i = next; return str; });
          break;
        }
        throw new Error("unknown escape sequence");
      }
    }
  }
  return out;
}

/** Decodes a run of `\xNN` / octal byte escapes starting at `start` as UTF-8 bytes. */
function decodeByteEscapes(body: string, start: number, done: (next: number, s: string) => string): string {
  const bytes: number[] = [];
  let i = start;
  for (;;) {
    if (body[i] !== "\\") break;
    const e = body[i + 1];
    if (e === "x" && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 2, i + 4))) {
      bytes.push(parseInt(body.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (e !== undefined && /^[0-7]{3}$/.test(body.slice(i + 1, i + 4))) {
      const v = parseInt(body.slice(i + 1, i + 4), 8);
      if (v > 255) throw new Error("invalid syntax");
      bytes.push(v);
      i += 4;
    } else break;
  }
  if (bytes.length === 0) throw new Error("invalid syntax");
  const str = new TextDecoder().decode(new Uint8Array(bytes));
  return done(i - 1, str);
}

/**
 * Unbalanced brackets, reported with Prometheus' lexer wording ("unclosed left parenthesis",
 * "unexpected right bracket ']'", ...). Strings and comments are skipped. Null when balanced.
 */
export function bracketError(q: string): { msg: string; pos: number } | null {
  const stack: { c: string; pos: number }[] = [];
  const closers: Record<string, [string, string]> = { ")": ["(", "right parenthesis"], "]": ["[", "right bracket"], "}": ["{", "right brace"] };
  for (let i = 0; i < q.length; i++) {
    const c = q[i]!;
    if (c === '"' || c === "'" || c === "`") {
      const start = i;
      for (i++; i < q.length && q[i] !== c; i++) if (q[i] === "\\" && c !== "`") i++;
      if (i >= q.length) return { msg: "unterminated quoted string", pos: start };
      continue;
    }
    if (c === "#") {
      while (i < q.length && q[i] !== "\n") i++;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") stack.push({ c, pos: i });
    const closer = closers[c];
    if (closer) {
      const top = stack.pop();
      if (!top || top.c !== closer[0]) return { msg: `unexpected ${closer[1]} '${c}'`, pos: i };
    }
  }
  const open = stack.pop();
  if (!open) return null;
  const what = open.c === "(" ? "unclosed left parenthesis" : open.c === "[" ? "unclosed left bracket" : "unexpected end of input inside braces";
  return { msg: what, pos: q.length };
}
