#!/usr/bin/env node
/**
 * `meridian` command-line entry on Node: parses the component name and flags, then starts the
 * component through its Node runner. Each runner lives in its own file so `--help` stays fast and
 * a component's dependencies load only when it runs.
 */
import process from "node:process";
import { commands } from "../commands.ts";
import { FlagError, formatHelp, parseFlags, type FlagValues } from "../flags.ts";
import { runners } from "./runners.ts";

const PROGRAM = "meridian";

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `usage: ${PROGRAM} <component> [<flags>]`,
    "",
    "One global, highly available Prometheus query view.",
    "",
    "Components:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Run '${PROGRAM} <component> --help' for a component's flags.`,
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return 0;
  }
  const spec = commands.find((c) => c.name === name);
  if (!spec) {
    console.error(`${PROGRAM}: unknown component ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(formatHelp(PROGRAM, spec));
    return 0;
  }
  let flags: FlagValues;
  try {
    flags = parseFlags(spec, rest);
  } catch (err) {
    if (err instanceof FlagError) {
      console.error(`${PROGRAM} ${name}: ${err.message}\n\n${formatHelp(PROGRAM, spec)}`);
      return 2;
    }
    throw err;
  }
  const load = runners[spec.name];
  if (!load) {
    console.error(`${PROGRAM} ${name}: this component is not available in this build yet`);
    return 1;
  }
  const run = await load();
  return run(flags);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
