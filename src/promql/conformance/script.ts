/**
 * Parser for Prometheus' PromQL test-script format (promql/promqltest, 3.x main branch): `load`,
 * `load_with_nhcb`, `clear`, `eval instant at …`, `eval range from … to … step …`, the deprecated
 * `eval_fail`/`eval_ordered`/`eval_warn`/`eval_info` variants, `expected_fail_message`/
 * `expected_fail_regexp`, and the newer `expect fail|warn|info|no_warn|no_info|ordered
 * [msg:|regex: …]`, `expect string "…"`, `expect range vector from … to … step …`. Lines are
 * trimmed, `#` starts a comment line, a blank line ends a block — exactly as `test.go` does.
 */
import { type Labels } from "../../model/labels.ts";
import { parseDuration } from "./duration.ts";
import { parseNumber, parseSeriesDesc, readQuoted, type SeqValue } from "./series-desc.ts";

/** An `expect <type> [msg:|regex:]` line. */
export interface ExpectLine {
  readonly type: "ordered" | "fail" | "warn" | "no_warn" | "info" | "no_info";
  /** Exact message, or undefined. */
  readonly message?: string;
  /** Pattern (unanchored, as Go's MatchString), or undefined. */
  readonly regex?: RegExp;
}

/** One expected series (or scalar) of an eval. */
export interface ExpectedEntry {
  /** 1-based position among the expected lines (for ordered checks). */
  readonly pos: number;
  readonly labels: Labels;
  readonly values: SeqValue[];
  /** Source text, for messages. */
  readonly text: string;
}

/** A `load` block. */
export interface LoadCmd {
  readonly kind: "load";
  readonly line: number;
  readonly intervalMs: number;
  readonly withNhcb: boolean;
  readonly series: { labels: Labels; values: SeqValue[]; text: string }[];
  /** True when the block has `@st` start-timestamp lines (experimental feature). */
  readonly hasStartTimestamps: boolean;
}

/** An `eval` command with its expectations. */
export interface EvalCmd {
  readonly kind: "eval";
  readonly line: number;
  readonly expr: string;
  readonly range: boolean;
  /** Instant time, or range start/end (ms since epoch). */
  start: number;
  end: number;
  stepMs: number;
  readonly fail: boolean;
  readonly ordered: boolean;
  readonly warn: boolean;
  readonly info: boolean;
  expectedFailMessage?: string;
  expectedFailRegexp?: RegExp;
  readonly expects: ExpectLine[];
  readonly expected: ExpectedEntry[];
  expectScalar: boolean;
  expectedString?: string;
  /** Instant eval that must return a range vector (`expect range vector …`). */
  expectRangeVector: boolean;
  excludeFromRangeQuery: boolean;
  /** Raw text of the block, used for skip detection (e.g. histogram literals). */
  readonly blockText: string;
}

/** A parsed command. */
export type Command = LoadCmd | { readonly kind: "clear"; readonly line: number } | EvalCmd;

/** A syntax error in a test script, with its 1-based line. */
export class ScriptError extends Error {
  override name = "ScriptError";
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const PAT_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const PAT_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const PAT_EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const PAT_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const PAT_EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;

/** Converts an RE2 pattern to a JS RegExp (enough for the patterns in the test files). */
function compileRegex(src: string): RegExp {
  let flags = "s";
  let s = src;
  const m = /^\(\?([a-zA-Z]+)\)/.exec(s);
  if (m) {
    if (m[1]!.includes("i")) flags += "i";
    s = s.slice(m[0].length);
  }
  return new RegExp(s, flags);
}

function getLines(input: string): string[] {
  return input.split("\n").map((l) => {
    const t = l.trim();
    return t.startsWith("#") ? "" : t;
  });
}

/** Parses a whole script. Throws {@link ScriptError} on malformed commands. */
export function parseScript(input: string): Command[] {
  const lines = getLines(input);
  const cmds: Command[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === "") continue;
    const word = l.split(/[\t ]+/, 1)[0]!.toLowerCase();
    if (word === "clear") cmds.push({ kind: "clear", line: i + 1 });
    else if (word.startsWith("load")) i = parseLoad(lines, i, cmds);
    else if (word.startsWith("eval")) i = parseEval(lines, i, cmds);
    else throw new ScriptError(i + 1, `invalid command ${JSON.stringify(l)}`);
  }
  return cmds;
}

function parseLoad(lines: string[], i: number, out: Command[]): number {
  const m = PAT_LOAD.exec(lines[i]!);
  if (!m) throw new ScriptError(i + 1, "invalid load command. (load[_with_nhcb] <step:duration>)");
  const intervalMs = parseDuration(m[2]!);
  const cmd: LoadCmd = { kind: "load", line: i + 1, intervalMs, withNhcb: m[1] === "with_nhcb", series: [], hasStartTimestamps: false };
  let hasSt = false;
  while (i + 1 < lines.length) {
    i++;
    const def = lines[i]!;
    if (def === "") {
      i--;
      break;
    }
    // `metric{...}@st <offsets>`: start timestamps for the next series line (experimental).
    if (/^[^\s]*?(\})?@st\s/.test(def) || /^[a-zA-Z_:][a-zA-Z0-9_:]*@st\s/.test(def) || /\}@st\s/.test(def)) {
      hasSt = true;
      continue;
    }
    try {
      const d = parseSeriesDesc(def);
      cmd.series.push({ labels: d.labels, values: d.values, text: def });
    } catch (err) {
      throw new ScriptError(i + 1, (err as Error).message);
    }
  }
  out.push({ ...cmd, hasStartTimestamps: hasSt });
  return i;
}

function parseEval(lines: string[], i: number, out: Command[]): number {
  const header = lines[i]!;
  const inst = PAT_EVAL_INSTANT.exec(header);
  const rng = inst ? null : PAT_EVAL_RANGE.exec(header);
  if (!inst && !rng) throw new ScriptError(i + 1, `invalid evaluation command: ${header}`);
  const mod = (inst ? inst[1] : rng![1]) ?? "";
  const expr = inst ? inst[3]! : rng![5]!;
  const line = i + 1;
  let start: number;
  let end: number;
  let stepMs = 0;
  try {
    if (inst) {
      start = end = parseDuration(inst[2] ?? "0");
    } else {
      start = parseDuration(rng![2]!);
      end = parseDuration(rng![3]!);
      stepMs = parseDuration(rng![4]!);
      if (end < start) throw new Error(`invalid test definition, end timestamp (${rng![3]}) is before start timestamp (${rng![2]})`);
    }
  } catch (err) {
    throw new ScriptError(line, (err as Error).message);
  }
  const cmd: EvalCmd = {
    kind: "eval",
    line,
    expr,
    range: !inst,
    start,
    end,
    stepMs,
    fail: mod === "fail",
    ordered: mod === "ordered",
    warn: mod === "warn",
    info: mod === "info",
    expects: [],
    expected: [],
    expectScalar: false,
    expectRangeVector: false,
    excludeFromRangeQuery: false,
    blockText: header,
  };
  const block: string[] = [header];
  let j = 1;
  while (i + 1 < lines.length) {
    i++;
    const def = lines[i]!;
    if (def === "") {
      i--;
      break;
    }
    block.push(def);
    if (cmd.fail && def.startsWith("expected_fail_message")) {
      cmd.expectedFailMessage = def.slice("expected_fail_message".length).trim();
      break;
    }
    if (cmd.fail && def.startsWith("expected_fail_regexp")) {
      cmd.expectedFailRegexp = compileRegex(def.slice("expected_fail_regexp".length).trim());
      break;
    }
    if (def.startsWith("expect range vector")) {
      const m = PAT_EXPECT_RANGE.exec(def);
      if (!m) throw new ScriptError(i + 1, `invalid range vector definition ${JSON.stringify(def)}`);
      cmd.start = parseDuration(m[1]!);
      cmd.end = parseDuration(m[2]!);
      cmd.stepMs = parseDuration(m[3]!);
      cmd.expectRangeVector = true;
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.startsWith("expect string")) {
      const s = def.slice("expect string".length).trim();
      if (s === "") throw new ScriptError(i + 1, "expected string literal not valid - a quoted string literal is required");
      cmd.expectedString = readQuoted(s, 0).value;
      cmd.excludeFromRangeQuery = true;
      continue;
    }
    if (def.split(" ", 1)[0] === "expect") {
      const m = PAT_EXPECT.exec(def.trim());
      if (!m) throw new ScriptError(i + 1, "invalid expect statement, must match `expect <type> <match_type>: <string>` format");
      const e: ExpectLine =
        m[2] === "msg" ? { type: m[1] as ExpectLine["type"], message: m[3]!.trim() } : m[2] === "regex" ? { type: m[1] as ExpectLine["type"], regex: compileRegex(m[3]!.trim()) } : { type: m[1] as ExpectLine["type"], regex: /^[^]*$/ };
      cmd.expects.push(e);
      continue;
    }
    let num: number | undefined;
    try {
      num = parseNumber(def);
    } catch {
      num = undefined;
    }
    if (num !== undefined) {
      cmd.expectScalar = true;
      cmd.expected.length = 0;
      cmd.expected.push({ pos: 0, labels: [], values: [{ kind: "float", value: num }], text: def });
      break;
    }
    try {
      const d = parseSeriesDesc(def);
      if (d.values.length > 1 && inst && !cmd.expectRangeVector) {
        throw new Error("expecting multiple values in instant evaluation not allowed. consider using 'expect range vector' directive to enable a range vector result for an instant query");
      }
      cmd.expectScalar = false;
      cmd.expected.push({ pos: j, labels: d.labels, values: d.values, text: def });
      j++;
    } catch (err) {
      throw new ScriptError(i + 1, (err as Error).message);
    }
  }
  (cmd as { blockText: string }).blockText = block.join("\n");
  out.push(cmd);
  return i;
}

/** True when the eval expects the query to fail. */
export function isFail(cmd: EvalCmd): boolean {
  return cmd.fail || cmd.expects.some((e) => e.type === "fail");
}

/** True when result order must match the listed order. */
export function isOrdered(cmd: EvalCmd): boolean {
  return cmd.ordered || cmd.expects.some((e) => e.type === "ordered");
}
