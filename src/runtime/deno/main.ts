/**
 * `meridian` on Deno (`deno task <component> ...`, see deno.json): parses the component name and
 * its flags with the same definitions as the Node CLI, then starts the component's Deno runner.
 * Runners register in {@link denoRunners} by component name, loaded lazily.
 */
import { commands } from "../commands.ts";
import { FlagError, formatHelp, parseFlags, type FlagValues } from "../flags.ts";
import { getDeno } from "./deno-api.ts";

/** Starts a component on Deno; resolves with the exit code once it stopped. */
export type DenoRunner = (flags: FlagValues) => Promise<number>;

/** Component name to lazy Deno runner. Add components here as they gain a Deno runner. */
export const denoRunners: Record<string, (() => Promise<DenoRunner>) | undefined> = {
  sidecar: async () => (await import("./sidecar.ts")).runSidecarOnDeno,
  query: async () => (await import("./query.ts")).runQueryOnDeno,
  store: async () => (await import("./store.ts")).runStoreOnDeno,
};

const PROGRAM = "meridian";

/** Runs the entry for `argv` (component name first); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  const available = commands.filter((c) => denoRunners[c.name]);
  if (!name || name === "--help" || name === "-h") {
    console.log(`usage: deno task <component> [<flags>]\n\nComponents on Deno:\n${available.map((c) => `  ${c.name}  ${c.summary}`).join("\n")}`);
    return 0;
  }
  const spec = commands.find((c) => c.name === name);
  const load = denoRunners[name];
  if (!spec || !load) {
    console.error(`${PROGRAM}: component ${JSON.stringify(name)} is not available on Deno (available: ${available.map((c) => c.name).join(", ")})`);
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
  return (await load())(flags);
}

if ((import.meta as ImportMeta & { main?: boolean }).main) {
  const deno = getDeno();
  main(deno.args).then(
    (code) => deno.exit(code),
    (err: unknown) => {
      console.error(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}`);
      deno.exit(1);
    },
  );
}
