/**
 * A small, runtime-neutral command-line flag parser in the style of Thanos' kingpin flags:
 * `--name=value` or `--name value`, repeatable flags, booleans with `--no-` negation, and help text
 * generated from the same definitions. The Node CLI and the Deno entry share it.
 */
import { parseDuration as parseModelDuration } from "../model/duration.ts";

/** The kinds of value a flag holds. */
export type FlagKind = "string" | "strings" | "bool" | "duration" | "bytes" | "int";

/** One flag's definition. */
export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly help: string;
  /** Default shown in help and used when absent (as the user would type it). */
  readonly default?: string;
  /** Hidden flags are accepted but not listed. */
  readonly hidden?: boolean;
}

/** A component (`store`, `query`, ...) with its flags. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
}

/** Parsed flag values by name. */
export type FlagValues = Record<string, string | string[] | boolean | number>;

/** A usage error; the CLI prints it with the command's help and exits with status 2. */
export class FlagError extends Error {
  override name = "FlagError";
}

/** Parses a Prometheus duration (`1h30m`, `500ms`, `15s`) into milliseconds; a FlagError otherwise. */
export function parseDuration(text: string): number {
  try {
    return parseModelDuration(text);
  } catch (err) {
    throw new FlagError(err instanceof Error ? err.message : String(err));
  }
}

const BYTE_UNITS: Record<string, number> = { "": 1, b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Parses a byte size such as `250MB` (binary units, as Thanos' flags) into bytes. */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new FlagError(`not a valid byte size: ${JSON.stringify(text)}`);
  return Math.round(Number(m[1]) * unit);
}

function convert(spec: FlagSpec, raw: string): string | boolean | number {
  switch (spec.kind) {
    case "bool":
      if (raw === "true" || raw === "") return true;
      if (raw === "false") return false;
      throw new FlagError(`--${spec.name} expects true or false, got ${JSON.stringify(raw)}`);
    case "duration":
      return parseDuration(raw);
    case "bytes":
      return parseBytes(raw);
    case "int": {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new FlagError(`--${spec.name} expects an integer, got ${JSON.stringify(raw)}`);
      return n;
    }
    default:
      return raw;
  }
}

/** Parses `argv` against `spec`; unknown flags and positional arguments are errors. */
export function parseFlags(spec: CommandSpec, argv: readonly string[]): FlagValues {
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  const values: FlagValues = {};
  for (const f of spec.flags) {
    if (f.kind === "strings") values[f.name] = f.default ? [f.default] : [];
    else if (f.default !== undefined) values[f.name] = convert(f, f.default);
    else if (f.kind === "bool") values[f.name] = false;
  }
  const seenRepeatable = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new FlagError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let f = byName.get(name);
    if (!f && name.startsWith("no-") && byName.get(name.slice(3))?.kind === "bool") {
      name = name.slice(3);
      f = byName.get(name);
      raw = "false";
    }
    if (!f) throw new FlagError(`unknown flag --${name}`);
    if (raw === undefined) {
      if (f.kind === "bool") raw = "true";
      else {
        raw = argv[++i];
        if (raw === undefined) throw new FlagError(`--${name} needs a value`);
      }
    }
    if (f.kind === "strings") {
      if (!seenRepeatable.has(name)) values[name] = [];
      seenRepeatable.add(name);
      (values[name] as string[]).push(raw);
    } else {
      values[name] = convert(f, raw);
    }
  }
  return values;
}

/** Renders help for one command, one flag per line with its default. */
export function formatHelp(program: string, spec: CommandSpec): string {
  const lines = [`usage: ${program} ${spec.name} [<flags>]`, "", spec.summary, "", "Flags:"];
  const visible = spec.flags.filter((f) => !f.hidden);
  const width = Math.max(...visible.map((f) => flagLabel(f).length), 10);
  for (const f of visible) {
    const def = f.default !== undefined ? ` (default: ${f.default})` : "";
    const rep = f.kind === "strings" ? " (repeatable)" : "";
    lines.push(`  ${flagLabel(f).padEnd(width)}  ${f.help}${def}${rep}`);
  }
  return lines.join("\n");
}

function flagLabel(f: FlagSpec): string {
  if (f.kind === "bool") return `--[no-]${f.name}`;
  const meta = f.kind === "duration" ? "DURATION" : f.kind === "bytes" ? "BYTES" : f.kind === "int" ? "INT" : "VALUE";
  return `--${f.name}=${meta}`;
}
