/**
 * Helpers for system tests against Debian's `promtool` and `prometheus` 2.42: locating the binaries,
 * running promtool, parsing `promtool tsdb dump`, formatting OpenMetrics input and starting a real
 * Prometheus server on a free loopback port over a TSDB directory.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { formatLabels, labelsFromRecord, type Labels } from "../../../src/model/labels.ts";
import { isStaleMarker } from "../../../src/model/series.ts";

/** Absolute path of a system binary (in /usr/bin, /usr/local/bin or PATH), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = ["/usr/bin", "/usr/local/bin", ...(process.env.PATH ?? "").split(":")];
  for (const d of dirs) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

/** Runs promtool; resolves with stdout and stderr, rejects with both on a non-zero exit. */
export function runPromtool(args: string[], cwd?: string): Promise<{ stdout: string; stderr: string }> {
  const bin = findBinary("promtool");
  if (!bin) return Promise.reject(new Error("promtool not installed"));
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`promtool ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** Samples of one series as printed by a tool (values as the exact text printed). */
export interface DumpedSeries {
  labels: Labels;
  t: number[];
  v: string[];
}

/** Parses one `{a="b", c="d"}` label set as Go's `labels.Labels.String()` prints it. */
export function parseGoLabels(text: string): Labels {
  if (!text.startsWith("{") || !text.endsWith("}")) throw new Error(`not a label set: ${text}`);
  const rec: Record<string, string> = {};
  let i = 1;
  while (i < text.length - 1) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    // The value is a Go-quoted string; JSON understands the escapes Go uses for printable text.
    let j = eq + 2;
    while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
    rec[name] = JSON.parse(text.slice(eq + 1, j + 1)) as string;
    i = j + 1;
    if (text.startsWith(", ", i)) i += 2;
  }
  return labelsFromRecord(rec);
}

/**
 * Parses `promtool tsdb dump` output (`{labels} value timestamp` per line) into series keyed by
 * `formatLabels`, samples in output order.
 */
export function parsePromtoolDump(text: string): Map<string, DumpedSeries> {
  const out = new Map<string, DumpedSeries>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const close = line.lastIndexOf("} ");
    if (close < 0) throw new Error(`unexpected dump line: ${line}`);
    const labels = parseGoLabels(line.slice(0, close + 1));
    const [value, ts] = line.slice(close + 2).split(" ");
    const key = formatLabels(labels);
    let s = out.get(key);
    if (!s) out.set(key, (s = { labels, t: [], v: [] }));
    s.t.push(Number(ts));
    s.v.push(value!);
  }
  return out;
}

/** Parses a float as Go and Prometheus print it (`+Inf`, `-Inf`, `NaN`, `1e+300`, `-0`). */
export function parseGoFloat(s: string): number {
  if (s === "+Inf" || s === "Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  const v = Number(s);
  if (Number.isNaN(v)) throw new Error(`not a float: ${s}`);
  return v;
}

/**
 * True when a printed value stands for `expected` exactly: same float (Go prints the shortest text
 * that round-trips, so parsing gives the same bits), -0 kept, any NaN (stale or not) prints `NaN`.
 */
export function printedValueMatches(printed: string, expected: number): boolean {
  if (Number.isNaN(expected)) return printed === "NaN";
  return Object.is(parseGoFloat(printed), expected);
}

/** Formats a float for OpenMetrics input so that parsing gives back the same bits. */
export function openMetricsFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (Object.is(v, -0)) return "-0.0";
  return String(v);
}

/** Formats a label set for OpenMetrics/Prometheus text (`name{a="b"}`). */
export function openMetricsSeries(labels: Labels): string {
  let name = "";
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name === "__name__") name = l.value;
    else parts.push(`${l.name}=${JSON.stringify(l.value)}`);
  }
  return parts.length ? `${name}{${parts.join(",")}}` : name;
}

/** True for a value that a stale marker stands for. Re-exported for tests. */
export { isStaleMarker };

/** A free TCP port on 127.0.0.1 (the OS picks it; we close and hand it to the child process). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A running Prometheus server started by {@link startPrometheus}. */
export interface RunningPrometheus {
  readonly url: string;
  readonly process: ChildProcess;
  /** Output collected so far (for failure messages). */
  log(): string;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` over `tsdbPath` with an empty scrape config and a 100y retention (fixture
 * data is old), on a free loopback port, and waits until `/-/ready` answers 200.
 */
export async function startPrometheus(tsdbPath: string, workDir: string): Promise<RunningPrometheus> {
  const bin = findBinary("prometheus");
  if (!bin) throw new Error("prometheus not installed");
  const config = join(workDir, "prometheus.yml");
  await writeFile(config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
  let lastErr = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(bin, [
      `--config.file=${config}`,
      `--storage.tsdb.path=${tsdbPath}`,
      `--storage.tsdb.retention.time=100y`,
      `--web.listen-address=127.0.0.1:${port}`,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const ready = await waitReady(url, child);
    const running: RunningPrometheus = {
      url,
      process: child,
      log: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
      },
    };
    if (ready) return running;
    await running.stop();
    lastErr = output;
  }
  throw new Error(`prometheus did not become ready:\n${lastErr}`);
}

async function waitReady(url: string, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) return false;
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** GET a Prometheus API path and return `data`, failing with the server's error text. */
export async function promApi<T>(url: string, path: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`${path}: ${res.status} ${body.error}`);
  return body.data;
}
