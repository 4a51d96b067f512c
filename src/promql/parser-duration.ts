/**
 * Durations inside PromQL brackets and after `offset`: a duration literal (`5m`, `1h30m`) or a
 * plain number of seconds (`[300]`, allowed since Prometheus 3). Arithmetic duration expressions
 * (`[5m+1m]`, `step()`) are an experimental Prometheus feature and are rejected with a clear error.
 */
import type { SyntaxNode } from "@lezer/common";
import { DurationError, parseDuration } from "../model/duration.ts";

type Fail = (msg: string, from: number, to: number) => Error;

/** Converts a DurationExpr / OffsetDurationExpr node to milliseconds. Offsets may be negative. */
export function parseDurationExpr(n: SyntaxNode, q: string, fail: Fail, allowSign = false): number {
  const first = n.firstChild;
  if (!first) throw fail("unexpected end of input", n.from, n.to);
  const name = first.type.name;
  if (name === "NumberDurationLiteralInDurationContext" && !first.nextSibling) {
    return literalMs(q.slice(first.from, first.to), first.from, first.to, fail);
  }
  if (name === "UnaryOp" && allowSign && first.nextSibling && !first.nextSibling.nextSibling) {
    const v = parseDurationExpr(first.nextSibling, q, fail, false);
    return q.slice(first.from, first.to) === "-" ? -v : v;
  }
  throw fail("experimental duration expressions are not enabled", n.from, n.to);
}

function literalMs(t: string, from: number, to: number, fail: Fail): number {
  if (/^(\d+(ms|s|m|h|d|w|y))+$/.test(t)) {
    try {
      return parseDuration(t);
    } catch (e) {
      if (e instanceof DurationError) throw fail(e.message, from, to);
      throw e;
    }
  }
  const lower = t.toLowerCase();
  let v: number;
  if (/^0x[0-9a-f]+$/.test(lower)) v = parseInt(lower.slice(2), 16);
  else v = Number(lower.replace(/_/g, ""));
  if (!Number.isFinite(v)) throw fail(`bad number or duration syntax: ${JSON.stringify(t)}`, from, to);
  const ms = Math.round(v * 1000);
  return ms;
}
