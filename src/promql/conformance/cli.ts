/**
 * `npm run conformance -- DIR`: runs every `.test` file in DIR (Prometheus promqltest scripts)
 * against Meridian's PromQL engine and prints per-file counts, skipped evals by reason, failures,
 * and finally `N passed, M failed`. Exits 1 when any eval failed (after printing the summary).
 * This is a Node entry point (it reads files), the only Node-specific part of the runner.
 * Options: `--max-failures N`, `--no-at-modifier` (skip promqltest's `@` variants), `--only FILE`,
 * `--experimental-functions` (run evals that use functions behind promql-experimental-functions).
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createEngine } from "../engine.ts";
import { formatReport, totals } from "./report.ts";
import { runScript, type ConformanceEngine, type EvalOutcome } from "./runner.ts";

/** The engine configured as promqltest's `NewTestEngine`. */
function loadEngine(): ConformanceEngine {
  // 5m lookback, 10000 max samples, 100 s timeout, delayed __name__ removal, experimental
  // functions on (their evals are still skipped unless --experimental-functions), 1m subquery step.
  return createEngine({ lookbackDelta: 5 * 60_000, maxSamples: 10_000, timeout: 100_000, experimentalFunctions: true, delayedNameRemoval: true, noStepSubqueryInterval: 60_000 });
}

async function main(argv: string[]): Promise<number> {
  let dir: string | undefined;
  let maxFailures = 200;
  let atVariants = true;
  let experimental = false;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--max-failures") maxFailures = Number(argv[++i]);
    else if (a === "--no-at-modifier") atVariants = false;
    else if (a === "--experimental-functions") experimental = true;
    else if (a === "--only") only.push(argv[++i]!);
    else if (!dir) dir = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!dir) {
    console.error("usage: conformance DIR [--only FILE] [--max-failures N] [--no-at-modifier] [--experimental-functions]");
    return 2;
  }
  const engine = loadEngine();
  const names = (await readdir(dir)).filter((n) => n.endsWith(".test") && (only.length === 0 || only.includes(n))).sort();
  const results: { file: string; outcomes: EvalOutcome[] }[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, name), "utf8");
    results.push({ file: name, outcomes: await runScript(text, engine, { file: name, atModifierVariants: atVariants, runExperimentalFunctions: experimental }) });
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
