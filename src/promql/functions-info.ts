/**
 * The experimental `info(v, [data-label-selector])` function (Prometheus `promql/info.go`): adds
 * the data labels of matching info series (default `target_info`), joined on the identifying
 * labels `instance` and `job`, to each series of `v`. Per step the newest info sample wins; equal
 * sample times are an error, as are conflicting data labels from different info metrics.
 */
import { compareStrings, getLabel, METRIC_NAME, type Label, type Labels } from "../model/labels.ts";
import { createMatcher, type Matcher } from "../model/matcher.ts";
import { walkExpr, type Call, type Expr, type SubqueryExpr, type VectorSelector } from "./ast.ts";
import { labelsString } from "./eval-binary.ts";
import { timestampSelector } from "./eval-selectors.ts";
import type { Evaluator } from "./evaluator.ts";
import { SeriesCollector, type StepSeries } from "./step-series.ts";
import { ExecutionError } from "./value.ts";

const IDENTIFYING = ["instance", "job"];

function effectiveNameMatchers(ms: Matcher[]): Matcher[] {
  if (ms.some((m) => m.type === "=" || m.type === "=~")) return ms;
  if (ms.length > 0) return [createMatcher("=~", METRIC_NAME, ".+_info"), ...ms];
  return [createMatcher("=", METRIC_NAME, "target_info")];
}

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** `@` time and total offset that apply to the first selector of `e` (through enclosing subqueries). */
function timestampAndOffset(ev: Evaluator, e: Expr): { at: number | null; offset: number } {
  let found: { at: number | null; offset: number } | null = null;
  walkExpr(e, (n, parents) => {
    if (found || n.kind !== "vectorSelector") return;
    let at = ev.atTime(n);
    let offset = n.offset;
    for (let i = parents.length - 1; at === null && i >= 0; i--) {
      const p = parents[i]!;
      if (p.kind === "subquery") {
        offset += p.offset;
        at = ev.atTime(p as SubqueryExpr);
      }
    }
    found = { at, offset };
  });
  return found ?? { at: null, offset: 0 };
}

/** Evaluates `info(...)`. */
export async function evalInfo(ev: Evaluator, e: Call, path: readonly Expr[]): Promise<StepSeries[]> {
  const { at, offset } = timestampAndOffset(ev, e.args[0]!);
  const base = await ev.evalVector(e.args[0]!, path);
  const data = new Map<string, Matcher[]>();
  let nameMatchers: Matcher[] = [];
  const sel = e.args[1];
  if (sel && sel.kind === "vectorSelector") {
    for (const m of sel.matchers) {
      data.set(m.name, [...(data.get(m.name) ?? []), m]);
      if (m.name === METRIC_NAME) nameMatchers.push(m);
    }
  } else nameMatchers = [createMatcher("=", METRIC_NAME, "target_info")];
  const effective = effectiveNameMatchers(nameMatchers);
  const ignored = base.map((s) => effective.every((m) => m.matches(getLabel(s.labels, METRIC_NAME))));

  // Which identifying label values occur: they narrow the info series select.
  const idValues = new Map<string, Set<string>>();
  base.forEach((s, k) => {
    if (ignored[k]) return;
    for (const l of IDENTIFYING) {
      const v = getLabel(s.labels, l);
      if (v === "") continue;
      if (!idValues.has(l)) idValues.set(l, new Set());
      idValues.get(l)!.add(v);
    }
  });
  const dataNameMatchers = data.get(METRIC_NAME) ?? [];
  data.delete(METRIC_NAME);
  let info: StepSeries[] = [];
  if (idValues.size > 0) {
    const matchers: Matcher[] = [];
    for (const [name, vals] of idValues) matchers.push(createMatcher("=~", name, [...vals].map(quoteMeta).join("|")));
    for (const ms of data.values()) matchers.push(...ms);
    matchers.push(...effectiveNameMatchers(dataNameMatchers));
    const vs: VectorSelector = {
      kind: "vectorSelector", name: "", matchers, offset, timestamp: at, startOrEnd: null, pos: e.pos,
    };
    info = await timestampSelector(ev, vs, [...path, e]);
  }

  // Join signatures: info metric name + identifying labels.
  const infoNames = [...new Set(info.map((s) => getLabel(s.labels, METRIC_NAME)))].sort(compareStrings);
  const sig = (name: string, l: Labels): string => name + "\xfe" + IDENTIFYING.map((n) => `${n}\xff${getLabel(l, n)}`).join("\xfe");
  const infoSigs = info.map((s) => sig(getLabel(s.labels, METRIC_NAME), s.labels));
  const baseSigs = base.map((s) => infoNames.map((n) => [n, sig(n, s.labels)] as const));
  const allMatchEmpty = [...data.values()].every((ms) => ms.every((m) => m.matches("")));

  const out = new SeriesCollector(ev.n);
  for (let i = 0; i < ev.n; i++) {
    const right = new Map<string, number>();
    info.forEach((s, k) => {
      if (!s.p[i]) return;
      const prev = right.get(infoSigs[k]!);
      if (prev === undefined) {
        right.set(infoSigs[k]!, k);
        return;
      }
      const a = info[prev]!.v[i]!;
      const b = s.v[i]!;
      if (a < b) right.set(infoSigs[k]!, k);
      else if (a === b) {
        throw new ExecutionError(
          `found duplicate series for info metric: existing ${labelsString(info[prev]!.labels)} @ ${Math.round(a * 1000)}, new ${labelsString(s.labels)} @ ${Math.round(b * 1000)}`,
        );
      }
    });
    base.forEach((bs, k) => {
      if (!bs.p[i]) return;
      if (ignored[k]) {
        out.add(bs.labels, bs.dropName, i, bs.v[i]!);
        return;
      }
      const added = new Map<string, string>();
      let seen = 0;
      for (const [, s] of baseSigs[k]!) {
        const ik = right.get(s);
        if (ik === undefined) continue;
        for (const l of info[ik]!.labels) {
          if (l.name === METRIC_NAME) continue;
          if (data.size > 0 && !data.has(l.name)) continue;
          const prev = added.get(l.name);
          if (prev !== undefined && prev !== l.value) throw new ExecutionError(`conflicting label: ${l.name}`);
          if (getLabel(bs.labels, l.name) !== "") continue;
          added.set(l.name, l.value);
        }
        seen++;
      }
      if (seen === 0 && !allMatchEmpty) return;
      const labels: Label[] = [...bs.labels];
      for (const [name, value] of added) if (value !== "") labels.push({ name, value });
      labels.sort((a, b) => compareStrings(a.name, b.name));
      out.add(labels, bs.dropName, i, bs.v[i]!);
    });
  }
  return out.nonEmpty();
}
