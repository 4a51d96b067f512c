/**
 * Error nodes in lezer's tree, worded as Prometheus words them. Almost every invalid query is
 * reported earlier by the Prometheus-compatible syntax check (`parser-syntax.ts`); this covers
 * what lezer alone still rejects: unterminated strings, unbalanced brackets, unknown functions
 * and stray tokens.
 */
import type { SyntaxNode } from "@lezer/common";
import { bracketError } from "./parser-text.ts";

/** Throws `err(...)` for the first error node under `top` of the tree lezer built for `q`. */
export function reportLezerError(top: SyntaxNode, q: string, err: (msg: string, start: number, end: number) => Error): void {
  const c = top.cursor();
  let errNode: { from: number; to: number } | null = null;
  do {
    if (c.type.isError) {
      errNode = { from: c.from, to: c.to };
      break;
    }
    // Unterminated strings are accepted by the lezer tokenizer.
    if (c.type.name === "StringLiteral") {
      const s = q.slice(c.from, c.to);
      if (s.length < 2 || s[s.length - 1] !== s[0] || (s[0] !== "`" && s.endsWith("\\" + s[0]) && !s.endsWith("\\\\" + s[0]))) {
        throw err("unterminated quoted string", c.from, c.to);
      }
    }
  } while (c.next());
  if (!errNode) return;
  const unbalanced = bracketError(q);
  if (unbalanced) throw err(unbalanced.msg, unbalanced.pos, unbalanced.pos);
  const { from } = errNode;
  let i = from;
  while (i < q.length && /\s/.test(q[i]!)) i++;
  if (i >= q.length) throw err("unexpected end of input", from, from);
  // Unknown function: identifier directly followed by "(".
  const before = /([A-Za-z_:][A-Za-z0-9_:]*)\s*$/.exec(q.slice(0, i));
  if (q[i] === "(" && before) {
    throw err(`unknown function with name ${JSON.stringify(before[1])}`, i - before[0].length, i);
  }
  const word = /^[A-Za-z_:][A-Za-z0-9_:]*|^\S/.exec(q.slice(i))![0];
  throw err(`unexpected ${JSON.stringify(word)}`, i, i + word.length);
}
