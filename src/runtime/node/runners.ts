/**
 * Maps component names to their Node runners, loaded lazily. A runner starts the component,
 * resolves with the exit code once it has shut down (SIGINT/SIGTERM), and owns all `node:` APIs.
 */
import type { FlagValues } from "../flags.ts";

/** Starts a component and resolves with its exit code when it stops. */
export type Runner = (flags: FlagValues) => Promise<number>;

/** Component name to lazy runner. Components register here as they land. */
export const runners: Record<string, (() => Promise<Runner>) | undefined> = {};
runners.sidecar = async () => (await import("./sidecar.ts")).runSidecar;
runners.store = async () => (await import("./store.ts")).runStore;
runners.query = async () => (await import("./query.ts")).runQuery;
runners.demo = async () => (await import("./demo.ts")).runDemo;
