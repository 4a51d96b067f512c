/**
 * Child processes for benchmarks that measure Meridian as it is deployed: `meridian store` and
 * `meridian query` each in a process of their own (started with the real CLI from dist/), free
 * loopback ports picked up front, readiness awaited on `/-/ready`, memory read from `/proc`, and
 * every child stopped at the end (also when the benchmark fails or the process exits early).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** Path of the compiled CLI (`dist/src/runtime/node/cli.js`), as `npm run bench` builds it. */
export const cliPath = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "runtime", "node", "cli.js");

/** A child process the benchmark started and must stop. */
export interface Child {
  /** Short name for messages (`store-0`, `query`, `prometheus`). */
  readonly name: string;
  readonly proc: ChildProcess;
  /** Base URL of its HTTP listener (`/-/ready`, `/metrics`, the API). */
  readonly url: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

// Every live child, so that an exit without the benchmark's `finally` (uncaught error, SIGINT)
// still leaves no process behind on a shared machine.
const live = new Set<Child>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function killAllNow(): void {
  for (const c of live) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", killAllNow);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      killAllNow();
      process.exit(130);
    });
  }
}

/**
 * Registers a temporary directory to remove if the process exits before the benchmark's own
 * cleanup ran (Ctrl-C, uncaught error); returns a function that unregisters it after that cleanup.
 */
export function removeOnExit(dir: string): () => void {
  installExitHook();
  tempDirs.add(dir);
  return () => void tempDirs.delete(dir);
}

/** A loopback port that was free a moment ago (listen on 0, read it, close). */
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

/**
 * Spawns `bin args` and waits until `url/-/ready` answers 200. Throws (after killing the child)
 * when the process exits first or is not ready within `timeoutMs`.
 */
export async function startChild(name: string, bin: string, args: string[], url: string, timeoutMs = 300_000): Promise<Child> {
  installExitHook();
  // stdout is dropped (info logs); stderr is passed through so crashes and warnings are visible.
  const proc = spawn(bin, args, { stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise<void>((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) r();
    else proc.once("exit", () => r());
  });
  const child: Child = {
    name,
    proc,
    url,
    stop: async (graceMs = 5000) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
    },
  };
  live.add(child);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      live.delete(child);
      throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before becoming ready`);
    }
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`${name} not ready on ${url} after ${timeoutMs / 1000} s`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.arrayBuffer();
      if (res.status === 200) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops every child given (in parallel); errors are collected, not thrown halfway. */
export async function stopAll(children: readonly (Child | undefined)[]): Promise<void> {
  await Promise.allSettled(children.map((c) => c?.stop()));
}

/** `VmHWM` (peak resident set over the process' life) or `VmRSS` of `pid`, in bytes; NaN if gone. */
export function procMemory(pid: number, field: "VmHWM" | "VmRSS"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * CPU time (user + system) `pid` has used so far, in ms, from `/proc/<pid>/stat` (Linux clock
 * ticks of 10 ms, USER_HZ=100); NaN if the process is gone. Unlike wall time this barely depends
 * on how busy a shared machine is.
 */
export function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces), counted from field 3 (state).
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) * 10;
  } catch {
    return NaN;
  }
}

/** The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
  return [a ?? NaN, b ?? NaN, c ?? NaN];
}
