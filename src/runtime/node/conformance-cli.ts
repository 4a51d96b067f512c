/**
 * `npm run conformance -- DIR`: runs every `.test` file in DIR (Prometheus promqltest scripts)
 * against Meridian's PromQL engine and prints per-file counts, skipped evals by reason, failures,
 * and finally `N passed, M failed`. Exits 1 when any eval failed (after printing the summary).
 * This is a Node entry point (it reads files), the only Node-specific part of the runner.
 * Options: `--max-failures N`, `--no-at-modifier` (skip promqltest's `@` variants), `--only FILE`,
 * `--experimental-functions` (run evals that use functions behind promql-experimental-functions),
 * `--enable-feature=NAME[,NAME]` (Prometheus' feature names, see PROMQL_FEATURES) and
 * `--all-features`: evals needing those features run, with the engine option turned on.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createEngine } from "../../promql/engine.ts";
import { formatReport, totals } from "../../promql/conformance/report.ts";
import { runScript, type ConformanceEngine, type EvalOutcome } from "../../promql/conformance/runner.ts";
import { PROMQL_FEATURES, type PromqlFeature } from "../../promql/conformance/skip.ts";

/**
 * The engine configured as promqltest's `NewTestEngine`: 5m lookback, 10000 max samples, 100 s
 * timeout, delayed __name__ removal, experimental functions on (their evals are still skipped unless
 * enabled), 1m subquery step, plus the enabled language features. `type-and-unit-labels` changes
 * how every query treats `__type__`, so it is only turned on for scripts that use those labels.
 */
function loadEngine(features: ReadonlySet<PromqlFeature>, typeAndUnit: boolean): ConformanceEngine {
  return createEngine({
    lookbackDelta: 5 * 60_000,
    maxSamples: 10_000,
    timeout: 100_000,
    experimentalFunctions: true,
    delayedNameRemoval: true,
    noStepSubqueryInterval: 60_000,
    binopFillModifiers: features.has("promql-binop-fill-modifiers"),
    extendedRangeSelectors: features.has("promql-extended-range-selectors"),
    durationExpressions: features.has("promql-duration-expr"),
    typeAndUnitLabels: typeAndUnit,
  });
}

function parseFeatures(list: string): PromqlFeature[] {
  return list.split(",").map((f) => {
    const name = f.trim();
    if (!(PROMQL_FEATURES as readonly string[]).includes(name)) throw new Error(`unknown feature ${JSON.stringify(name)}; known: ${PROMQL_FEATURES.join(", ")}`);
    return name as PromqlFeature;
  });
}

async function main(argv: string[]): Promise<number> {
  let dir: string | undefined;
  let maxFailures = 200;
  let atVariants = true;
  const features = new Set<PromqlFeature>();
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--max-failures") maxFailures = Number(argv[++i]);
    else if (a === "--no-at-modifier") atVariants = false;
    else if (a === "--experimental-functions") features.add("promql-experimental-functions");
    else if (a === "--all-features") for (const f of PROMQL_FEATURES) features.add(f);
    else if (a.startsWith("--enable-feature=")) for (const f of parseFeatures(a.slice("--enable-feature=".length))) features.add(f);
    else if (a === "--only") only.push(argv[++i]!);
    else if (!dir) dir = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!dir) {
    console.error("usage: conformance DIR [--only FILE] [--max-failures N] [--no-at-modifier] [--experimental-functions] [--enable-feature=NAME,...] [--all-features]");
    return 2;
  }
  const plain = loadEngine(features, false);
  const typed = features.has("type-and-unit-labels") ? loadEngine(features, true) : plain;
  const names = (await readdir(dir)).filter((n) => n.endsWith(".test") && (only.length === 0 || only.includes(n))).sort();
  const results: { file: string; outcomes: EvalOutcome[] }[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), "utf8");
    const engine = /__type__|__unit__/.test(text) ? typed : plain;
    results.push({ file: name, outcomes: await runScript(text, engine, { file: name, atModifierVariants: atVariants, features }) });
  }
  console.log(formatReport(results, { maxFailures }));
  return totals(results.flatMap((r) => r.outcomes)).failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    console.log("0 passed, 1 failed");
    process.exitCode = 1;
  },
);
