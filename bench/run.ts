/**
 * Benchmark entry: `npm run bench -- NAME [args]` runs `bench/NAME.ts` (compiled to dist/bench).
 * Each benchmark prints every figure on a line of its own, `bench: <name> <value> <unit>`, so runs
 * can be compared over time.
 */
import process from "node:process";
import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith(".js") && f !== "run.js" && f !== "report.js" && !f.startsWith("helpers-"))
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME [args]\navailable: ${available.join(", ")}`);
  process.exit(name ? 2 : 0);
}
const mod = (await import(pathToFileURL(`${here}/${name}.js`).href)) as { default: (args: string[]) => Promise<void> };
await mod.default(args);
