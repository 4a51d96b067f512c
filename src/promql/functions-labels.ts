/**
 * `label_replace` and `label_join`: series-level relabelling with Go's regexp template expansion.
 * Setting `__name__` this way keeps the name even where it would otherwise be dropped (Prometheus 3).
 */
import { getLabel, METRIC_NAME } from "../model/labels.ts";
import { MatcherError } from "../model/matcher.ts";
import type { Call, Expr } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import { compilePromRegex } from "../model/regex.ts";
import { mergeSameLabels, setLabel, type StepSeries } from "./step-series.ts";
import { ExecutionError } from "./value.ts";

function unparen(e: Expr): Expr {
  while (e.kind === "paren") e = e.expr;
  return e;
}

function stringArg(e: Expr): string {
  const u = unparen(e);
  if (u.kind !== "string") throw new ExecutionError("expected a string literal");
  return u.value;
}

/** Prometheus: label names must be non-empty valid UTF-8 (3.x allows any UTF-8). */
function validLabelName(s: string): boolean {
  return s !== "" && !s.includes("\ufffd");
}

/** Evaluates `label_replace(v, dst, replacement, src, regex)`. */
export async function labelReplace(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<StepSeries[]> {
  const dst = stringArg(e.args[1]!);
  const repl = stringArg(e.args[2]!);
  const src = stringArg(e.args[3]!);
  const regexStr = stringArg(e.args[4]!);
  let re: RegExp;
  try {
    re = compilePromRegex(regexStr);
  } catch (err) {
    if (err instanceof MatcherError) throw new ExecutionError(`invalid regular expression in label_replace(): ${regexStr}`);
    throw err;
  }
  if (!validLabelName(dst)) throw new ExecutionError(`invalid destination label name in label_replace(): ${dst}`);
  const vec = await ev.evalVector(e.args[0]!, path);
  for (const s of vec) {
    const m = re.exec(getLabel(s.labels, src));
    if (!m) continue;
    const value = expandTemplate(repl, m);
    s.labels = setLabel(s.labels, dst, value);
    if (dst === METRIC_NAME) s.dropName = false;
  }
  return mergeSameLabels(vec);
}

/** Go's `Regexp.ExpandString`: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
export function expandTemplate(tpl: string, m: RegExpExecArray): string {
  let out = "";
  for (let i = 0; i < tpl.length; i++) {
    const c = tpl[i]!;
    if (c !== "$" || i + 1 >= tpl.length) {
      out += c;
      continue;
    }
    const next = tpl[i + 1]!;
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === "{") {
      const close = tpl.indexOf("}", i + 2);
      if (close < 0) {
        out += c;
        continue;
      }
      name = tpl.slice(i + 2, close);
      end = close;
      if (!/^[A-Za-z0-9_]+$/.test(name)) {
        out += c;
        continue;
      }
    } else {
      const mm = /^[A-Za-z0-9_]+/.exec(tpl.slice(i + 1));
      if (!mm) {
        out += c;
        continue;
      }
      name = mm[0];
      end = i + name.length;
    }
    if (/^[0-9]+$/.test(name)) out += m[Number(name)] ?? "";
    else out += m.groups?.[name] ?? "";
    i = end;
  }
  return out;
}

/** Evaluates `label_join(v, dst, separator, src...)`. */
export async function labelJoin(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<StepSeries[]> {
  const dst = stringArg(e.args[1]!);
  const sep = stringArg(e.args[2]!);
  const srcs = e.args.slice(3).map(stringArg);
  for (const s of srcs) if (!validLabelName(s)) throw new ExecutionError(`invalid source label name in label_join(): ${s}`);
  if (!validLabelName(dst)) throw new ExecutionError(`invalid destination label name in label_join(): ${dst}`);
  const vec = await ev.evalVector(e.args[0]!, path);
  for (const s of vec) {
    const value = srcs.map((l) => getLabel(s.labels, l)).join(sep);
    s.labels = setLabel(s.labels, dst, value);
    if (dst === METRIC_NAME) s.dropName = false;
  }
  return mergeSameLabels(vec);
}
