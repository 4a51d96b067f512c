/**
 * Starts Meridian components as a user would: the built CLI (`dist/src/runtime/node/cli.js`, from
 * `npm run build`) in a child process on loopback ports chosen by the OS, learned from the
 * component's "listening: http port N, grpc port M" log line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** Path of the built CLI. */
export const MERIDIAN_CLI = join(process.cwd(), "dist/src/runtime/node/cli.js");

/** True when the CLI has been built. */
export function haveBuiltCli(): boolean {
  return existsSync(MERIDIAN_CLI);
}

/** A running CLI component. */
export interface CliComponent {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly process: ChildProcess;
  /** Everything it logged so far. */
  log(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `meridian <args>` with both listeners on 127.0.0.1:0; rejects with its log if it exits first. */
export function startCliComponent(args: readonly string[], cwd: string): Promise<CliComponent> {
  const proc = spawn(process.execPath, [MERIDIAN_CLI, ...args, "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    await exited;
  };
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /http port (\d+), grpc port (\d+)/.exec(output);
      if (m) resolve({ httpPort: Number(m[1]), grpcPort: Number(m[2]), process: proc, log: () => output, stop });
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code, signal) => reject(new Error(`meridian ${args[0]} exited (${code ?? signal}) before listening:\n${output}`)));
  });
}
