/**
 * HTTPS for `Deno.serve` from `--http.tls-cert-file` / `--http.tls-key-file` (the same flags as the
 * Node listeners). Deno takes the PEM text itself rather than file names.
 */
import type { FlagValues } from "../flags.ts";
import { tlsFromFlags } from "../node/tls-flags.ts";
import type { DenoApi } from "./deno-api.ts";

/** `{ cert, key }` to spread into `Deno.serve` options, or `{}` without TLS flags. */
export async function denoServeTls(deno: DenoApi, flags: FlagValues): Promise<{ cert?: string; key?: string }> {
  const { tls } = tlsFromFlags(flags, "http");
  if (!tls) return {};
  const [cert, key] = await Promise.all([deno.readTextFile(tls.certFile), deno.readTextFile(tls.keyFile)]);
  return { cert, key };
}
