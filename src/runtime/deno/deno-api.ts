/**
 * The few Deno APIs the Deno entry uses, typed locally so the sources also compile with tsc (which
 * has no Deno types) and nothing Deno-specific leaks into the core.
 */

/** A server started by `Deno.serve`. */
export interface DenoHttpServer {
  readonly addr: { readonly port: number; readonly hostname: string };
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

/** Subset of the `Deno` namespace used here. */
export interface DenoApi {
  readonly args: string[];
  exit(code: number): never;
  serve(
    options: { hostname?: string; port: number; onListen?: (addr: { hostname: string; port: number }) => void; signal?: AbortSignal },
    handler: (req: Request) => Response | Promise<Response>,
  ): DenoHttpServer;
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  removeSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  readTextFile(path: string): Promise<string>;
}

/** The global `Deno` namespace; throws when not running on Deno. */
export function getDeno(): DenoApi {
  const d = (globalThis as { Deno?: DenoApi }).Deno;
  if (!d) throw new Error("this entry point runs on Deno only");
  return d;
}

/** Splits `host:port` (`:port` and `[v6]:port` allowed) for `Deno.serve`. */
export function splitAddress(address: string): { hostname: string; port: number } {
  const i = address.lastIndexOf(":");
  if (i < 0) throw new Error(`address ${JSON.stringify(address)} must be host:port`);
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`address ${JSON.stringify(address)}: invalid port`);
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}
