/** logfmt logging to stderr for the runtime entries (Node, Deno), filtered by `--log.level`, as Thanos logs. */

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logger for one component. */
export type Logger = (level: LogLevel, msg: string) => void;

/** Creates a logfmt logger for `component` that drops messages below `level` (default info). */
export function createLogger(component: string, level: string): Logger {
  const min = ORDER[level as LogLevel] ?? 1;
  return (lvl, msg) => {
    if (ORDER[lvl] < min) return;
    console.error(`ts=${new Date().toISOString()} level=${lvl} component=${component} msg=${JSON.stringify(msg)}`);
  };
}
