/**
 * The error a PromQL query fails to parse with: Prometheus' `bad_data` message
 * `<line>:<column>: parse error: <detail>`, with the position range in the query text.
 */
import type { PosRange } from "./ast.ts";
import { QueryError } from "./value.ts";

/** A syntax or type error in a query; `pos` points into the query text. */
export class ParseError extends QueryError {
  override name = "ParseError";
  /** 1-based line and column of `pos.start`. */
  readonly line: number;
  readonly column: number;
  constructor(
    readonly detail: string,
    readonly pos: PosRange,
    readonly query: string,
  ) {
    const { line, column } = lineColumn(query, pos.start);
    // Prometheus 3 cannot place an error in an empty query and says so.
    const where = query === "" ? "unknown position" : `${line}:${column}`;
    super("bad_data", `${where}: parse error: ${detail}`);
    this.line = line;
    this.column = column;
  }
}

/** 1-based line and column of `offset`; like Prometheus, the column counts UTF-8 bytes. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const bytes = new TextEncoder().encode(text.slice(lineStart, offset)).length;
  return { line, column: bytes + 1 };
}
