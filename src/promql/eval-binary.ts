/**
 * Binary operators over step-evaluated operands, as Prometheus' `VectorBinop`, `VectorscalarBinop`,
 * `VectorAnd/Or/Unless` and `scalarBinop`: arithmetic, comparisons (filtering or `bool`), set
 * operators, one-to-one and many-to-one/one-to-many vector matching with `on`/`ignoring` and
 * `group_left`/`group_right`, including Prometheus' errors for ambiguous matches.
 */
import { getLabel, METRIC_NAME, type Labels } from "../model/labels.ts";
import { isComparisonOp, type BinaryExpr, type BinaryOp, type Expr, type VectorMatching } from "./ast.ts";
import type { Evaluator } from "./evaluator.ts";
import {
  dropMetricName, keepLabels, labelsKey, removeLabels, SeriesCollector, setLabel, signature, type NodeValue, type StepSeries,
} from "./step-series.ts";
import { ExecutionError } from "./value.ts";

/** Go's `math.Pow` where it differs from `**` (1^NaN, 1^±Inf, (-1)^±Inf are 1). */
export function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

/** Arithmetic of two floats. */
export function arith(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case "+": return l + r;
    case "-": return l - r;
    case "*": return l * r;
    case "/": return l / r;
    case "%": return l % r;
    case "^": return goPow(l, r);
    case "atan2": return Math.atan2(l, r);
    default: throw new ExecutionError(`operator "${op}" not allowed here`);
  }
}

/** Comparison of two floats. */
export function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case "==": return l === r;
    case "!=": return l !== r;
    case ">": return l > r;
    case "<": return l < r;
    case ">=": return l >= r;
    case "<=": return l <= r;
    default: throw new ExecutionError(`operator "${op}" is not a comparison`);
  }
}

/** Prometheus' `labels.String()`: `{a="1", b="2"}` (the name inside the braces). */
export function labelsString(labels: Labels): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(", ")}}`;
}

/** Evaluates a binary expression. */
export async function evalBinary(ev: Evaluator, e: BinaryExpr, path: readonly Expr[]): Promise<NodeValue> {
  const lhs = await ev.eval(e.lhs, path);
  const rhs = await ev.eval(e.rhs, path);
  if (lhs.type === "scalar" && rhs.type === "scalar") {
    const out = new Float64Array(ev.n);
    const cmp = isComparisonOp(e.op);
    for (let i = 0; i < ev.n; i++) {
      out[i] = cmp ? (compare(e.op, lhs.v[i]!, rhs.v[i]!) ? 1 : 0) : arith(e.op, lhs.v[i]!, rhs.v[i]!);
    }
    return { type: "scalar", v: out };
  }
  if (lhs.type === "vector" && rhs.type === "scalar") {
    return { type: "vector", series: vectorScalar(ev, e, lhs.series, rhs.v, false) };
  }
  if (lhs.type === "scalar" && rhs.type === "vector") {
    return { type: "vector", series: vectorScalar(ev, e, rhs.series, lhs.v, true) };
  }
  if (lhs.type !== "vector" || rhs.type !== "vector") {
    throw new ExecutionError("binary expression must contain only scalar and instant vector types");
  }
  const matching = e.matching ?? { card: "one-to-one", on: false, matchingLabels: [], include: [] };
  switch (e.op) {
    case "and":
    case "or":
    case "unless":
      return { type: "vector", series: setOp(ev, e.op, lhs.series, rhs.series, matching) };
    default:
      return { type: "vector", series: vectorVector(ev, e, lhs.series, rhs.series, matching) };
  }
}

function changesSchema(op: BinaryOp): boolean {
  return op === "+" || op === "-" || op === "*" || op === "/" || op === "%" || op === "^" || op === "atan2";
}

function vectorScalar(ev: Evaluator, e: BinaryExpr, vec: StepSeries[], sc: Float64Array, swap: boolean): StepSeries[] {
  const cmp = isComparisonOp(e.op);
  const out: StepSeries[] = [];
  for (const s of vec) {
    let any = false;
    for (let i = 0; i < ev.n; i++) {
      if (!s.p[i]) continue;
      const x = s.v[i]!;
      const l = swap ? sc[i]! : x;
      const r = swap ? x : sc[i]!;
      if (cmp) {
        const keep = compare(e.op, l, r);
        if (e.returnBool) s.v[i] = keep ? 1 : 0;
        else if (!keep) {
          s.p[i] = 0;
          continue;
        }
      } else {
        s.v[i] = arith(e.op, l, r);
      }
      any = true;
    }
    if (any) out.push(s);
  }
  if (changesSchema(e.op) || e.returnBool) return ev.markDropName(out);
  return out;
}

/** Maps signature strings to small integers. */
function ordinals(series: readonly StepSeries[], on: boolean, names: ReadonlySet<string>, table: Map<string, number>): Int32Array {
  const out = new Int32Array(series.length);
  series.forEach((s, i) => {
    const sig = signature(s.labels, on, names);
    let o = table.get(sig);
    if (o === undefined) {
      o = table.size;
      table.set(sig, o);
    }
    out[i] = o;
  });
  return out;
}

function setOp(ev: Evaluator, op: "and" | "or" | "unless", lhs: StepSeries[], rhs: StepSeries[], m: VectorMatching): StepSeries[] {
  const names = new Set(m.matchingLabels);
  const table = new Map<string, number>();
  const sl = ordinals(lhs, m.on, names, table);
  const sr = ordinals(rhs, m.on, names, table);
  const stamp = new Int32Array(table.size).fill(-1);
  const out = new SeriesCollector(ev.n);
  const outL = new Int32Array(lhs.length).fill(-1);
  const outR = new Int32Array(rhs.length).fill(-1);
  const emit = (side: StepSeries[], idx: Int32Array, k: number, i: number): void => {
    const s = side[k]!;
    if (idx[k]! < 0) idx[k] = out.index(s.labels, s.dropName);
    out.set(idx[k]!, i, s.v[i]!);
  };
  for (let i = 0; i < ev.n; i++) {
    let anyL = false;
    let anyR = false;
    for (let k = 0; k < lhs.length && !anyL; k++) if (lhs[k]!.p[i]) anyL = true;
    for (let k = 0; k < rhs.length && !anyR; k++) if (rhs[k]!.p[i]) anyR = true;
    if (op === "and") {
      if (!anyL || !anyR) continue;
      for (let k = 0; k < rhs.length; k++) if (rhs[k]!.p[i]) stamp[sr[k]!] = i;
      for (let k = 0; k < lhs.length; k++) if (lhs[k]!.p[i] && stamp[sl[k]!] === i) emit(lhs, outL, k, i);
    } else if (op === "unless") {
      if (anyR) for (let k = 0; k < rhs.length; k++) if (rhs[k]!.p[i]) stamp[sr[k]!] = i;
      for (let k = 0; k < lhs.length; k++) if (lhs[k]!.p[i] && (!anyR || stamp[sl[k]!] !== i)) emit(lhs, outL, k, i);
    } else {
      for (let k = 0; k < lhs.length; k++) {
        if (!lhs[k]!.p[i]) continue;
        stamp[sl[k]!] = i;
        emit(lhs, outL, k, i);
      }
      for (let k = 0; k < rhs.length; k++) if (rhs[k]!.p[i] && stamp[sr[k]!] !== i) emit(rhs, outR, k, i);
    }
  }
  return out.nonEmpty();
}

function vectorVector(ev: Evaluator, e: BinaryExpr, lhsIn: StepSeries[], rhsIn: StepSeries[], m: VectorMatching): StepSeries[] {
  const swapped = m.card === "one-to-many";
  const L = swapped ? rhsIn : lhsIn;
  const R = swapped ? lhsIn : rhsIn;
  const names = new Set(m.matchingLabels);
  const table = new Map<string, number>();
  const sl = ordinals(L, m.on, names, table);
  const sr = ordinals(R, m.on, names, table);
  const nsig = table.size;
  const rightAt = new Int32Array(nsig);
  const rightStamp = new Int32Array(nsig).fill(-1);
  const matchedStamp = new Int32Array(nsig).fill(-1);
  const cmp = isComparisonOp(e.op);
  const out = new SeriesCollector(ev.n);
  const pairCache = new Map<number, { idx: number; key: string }>();
  const dropName = !ev.ctx.delayedNameRemoval && e.returnBool;
  const include = m.include;
  const oneSide = swapped ? "left" : "right";
  const fillLHS = m.fillLHS ?? null;
  const fillRHS = m.fillRHS ?? null;
  const withoutNames = new Set([...names, METRIC_NAME]);
  /** Prometheus' `Labels.MatchLabels(on, names)`: the labels that take part in matching. */
  const matchLabels = (l: Labels): Labels => (m.on ? keepLabels(l, names) : removeLabels(l, withoutNames));
  if ((lhsIn.length === 0 || rhsIn.length === 0) && fillLHS === null && fillRHS === null) return [];
  for (let i = 0; i < ev.n; i++) {
    if (i % 64 === 0) ev.check();
    for (let k = 0; k < R.length; k++) {
      if (!R[k]!.p[i]) continue;
      const sig = sr[k]!;
      if (rightStamp[sig] === i) {
        const a = R[k]!.labels;
        const b = R[rightAt[sig]!]!.labels;
        const matched = m.on ? keepLabels(a, names) : removeLabels(a, new Set([...names, METRIC_NAME]));
        let d1 = labelsString(a);
        let d2 = labelsString(b);
        if (d1 > d2) [d1, d2] = [d2, d1];
        throw new ExecutionError(
          `found duplicate series for the match group ${labelsString(matched)} on the ${oneSide} hand-side of the operation: [${d1}, ${d2}]` +
            ";many-to-many matching not allowed: matching labels must be unique on one side",
        );
      }
      rightStamp[sig] = i;
      rightAt[sig] = k;
    }
    const groupSeen = m.card === "one-to-one" ? null : new Map<number, Set<string>>();
    const doBinOp = (lLabels: Labels, lv: number, rLabels: Labels, rv: number, sig: number, pk: number): void => {
      let fl = lv;
      let fr = rv;
      if (swapped) [fl, fr] = [fr, fl];
      let value: number;
      let keep = true;
      if (cmp) {
        keep = compare(e.op, fl, fr);
        value = fl;
      } else value = arith(e.op, fl, fr);
      if (e.returnBool) value = keep ? 1 : 0;
      let res = pk >= 0 ? pairCache.get(pk) : undefined;
      if (!res) {
        let lb = lLabels;
        if (dropName || changesSchema(e.op)) lb = dropMetricName(lb);
        if (m.card === "one-to-one") lb = m.on ? keepLabels(lb, names) : removeLabels(lb, names);
        for (const ln of include) lb = setLabel(lb, ln, getLabel(rLabels, ln));
        res = { idx: -1, key: labelsKey(lb) };
        res.idx = out.index(lb, e.returnBool && ev.ctx.delayedNameRemoval);
        if (pk >= 0) pairCache.set(pk, res);
      }
      if (groupSeen === null) {
        if (matchedStamp[sig] === i) {
          throw new ExecutionError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
        }
      } else {
        let set = groupSeen.get(sig);
        if (!set) groupSeen.set(sig, (set = new Set()));
        if (set.has(res.key)) throw new ExecutionError("multiple matches for labels: grouping labels must ensure unique matches");
        set.add(res.key);
      }
      matchedStamp[sig] = i;
      if (!keep && !e.returnBool) return;
      out.set(res.idx, i, value);
    };
    for (let k = 0; k < L.length; k++) {
      const ls = L[k]!;
      if (!ls.p[i]) continue;
      const sig = sl[k]!;
      if (rightStamp[sig] !== i) {
        if (fillRHS !== null) doBinOp(ls.labels, ls.v[i]!, matchLabels(ls.labels), fillRHS, sig, -1);
        continue;
      }
      const rk = rightAt[sig]!;
      const rs = R[rk]!;
      doBinOp(ls.labels, ls.v[i]!, rs.labels, rs.v[i]!, sig, k * R.length + rk);
    }
    if (fillLHS !== null) {
      for (let k = 0; k < R.length; k++) {
        const rs = R[k]!;
        if (!rs.p[i]) continue;
        const sig = sr[k]!;
        if (matchedStamp[sig] === i) continue;
        doBinOp(matchLabels(rs.labels), fillLHS, rs.labels, rs.v[i]!, sig, -1);
      }
    }
  }
  return out.nonEmpty();
}
