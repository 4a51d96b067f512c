/**
 * Formats conformance outcomes for the terminal: per-file counts, skipped evals grouped by reason,
 * failures with `file:line`, expression and a short diff, then the summary. The last line is
 * exactly `N passed, M failed` (CI greps it); the skipped count is on the line before.
 */
import type { EvalOutcome } from "./runner.ts";

/** Formatting limits. */
export interface ReportOptions {
  /** Maximum failures listed in detail (default 200). */
  readonly maxFailures?: number;
  /** Maximum skipped evals listed per reason (default 50; the count is always printed). */
  readonly maxSkippedPerReason?: number;
  /** Maximum characters of one failure message (default 400). */
  readonly maxMessage?: number;
}

/** Totals of a run. */
export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

/** Counts outcomes. */
export function totals(outcomes: readonly EvalOutcome[]): Totals {
  const t: Totals = { passed: 0, failed: 0, skipped: 0 };
  for (const o of outcomes) {
    if (o.status === "pass") t.passed++;
    else if (o.status === "fail") t.failed++;
    else t.skipped++;
  }
  return t;
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s*\n\s*/g, " ");
  return one.length > n ? `${one.slice(0, n)}…` : one;
}

/** Builds the report text (lines joined by "\n", no trailing newline). */
export function formatReport(files: readonly { file: string; outcomes: readonly EvalOutcome[] }[], opts: ReportOptions = {}): string {
  const maxFailures = opts.maxFailures ?? 200;
  const maxSkipped = opts.maxSkippedPerReason ?? 50;
  const maxMessage = opts.maxMessage ?? 400;
  const lines: string[] = [];
  const all: EvalOutcome[] = [];
  const width = Math.max(10, ...files.map((f) => f.file.length));
  for (const f of files) {
    const t = totals(f.outcomes);
    lines.push(`${f.file.padEnd(width)}  ${String(t.passed).padStart(4)} passed  ${String(t.failed).padStart(4)} failed  ${String(t.skipped).padStart(4)} skipped`);
    all.push(...f.outcomes);
  }
  const skipped = all.filter((o) => o.status === "skip");
  if (skipped.length > 0) {
    lines.push("", `Skipped evals (${skipped.length}):`);
    const byReason = new Map<string, EvalOutcome[]>();
    for (const o of skipped) {
      const r = o.skip!.reason;
      if (!byReason.has(r)) byReason.set(r, []);
      byReason.get(r)!.push(o);
    }
    for (const [reason, list] of byReason) {
      const details = new Map<string, number>();
      for (const o of list) details.set(o.skip!.detail, (details.get(o.skip!.detail) ?? 0) + 1);
      lines.push(`  ${reason} (${list.length}): ${[...details].map(([d, n]) => `${d} ×${n}`).join("; ")}`);
      for (const o of list.slice(0, maxSkipped)) lines.push(`    ${o.file}:${o.line}  ${clip(o.expr, 120)}  [${o.skip!.detail}]`);
      if (list.length > maxSkipped) lines.push(`    … ${list.length - maxSkipped} more`);
    }
  }
  const failed = all.filter((o) => o.status === "fail");
  if (failed.length > 0) {
    lines.push("", `Failures (${failed.length}):`);
    for (const o of failed.slice(0, maxFailures)) {
      lines.push(`  ${o.file}:${o.line}  [${o.cause ?? "?"}]  ${clip(o.expr, 160)}`);
      lines.push(`      ${clip(o.message ?? "", maxMessage)}`);
    }
    if (failed.length > maxFailures) lines.push(`  … ${failed.length - maxFailures} more failures`);
  }
  const t = totals(all);
  lines.push("", `${t.skipped} skipped`, `${t.passed} passed, ${t.failed} failed`);
  return lines.join("\n");
}
