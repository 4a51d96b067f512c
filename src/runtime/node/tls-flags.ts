/**
 * TLS settings of Node listeners from the common flags (`--http.tls-cert-file`/`--http.tls-key-file`
 * for the HTTP listener, `--grpc-server-tls-cert`/`--grpc-server-tls-key` for native gRPC, as
 * Thanos names them). A certificate without its key (or the reverse) is a usage error, not a
 * silent fallback to cleartext.
 */
import { FlagError, type FlagValues } from "../flags.ts";
import type { ServerTlsFiles } from "./serve.ts";

const PAIRS = {
  http: ["http.tls-cert-file", "http.tls-key-file"],
  grpc: ["grpc-server-tls-cert", "grpc-server-tls-key"],
} as const;

/**
 * `{ tls }` for `startHttpServer` / `startGrpcServer` when the listener's certificate and key are
 * both set, `{}` when neither is; throws {@link FlagError} naming the missing flag otherwise.
 */
export function tlsFromFlags(flags: FlagValues, listener: "http" | "grpc"): { tls?: ServerTlsFiles } {
  const [certFlag, keyFlag] = PAIRS[listener];
  const cert = flags[certFlag];
  const key = flags[keyFlag];
  const certFile = typeof cert === "string" && cert !== "" ? cert : undefined;
  const keyFile = typeof key === "string" && key !== "" ? key : undefined;
  if (certFile === undefined && keyFile === undefined) return {};
  if (certFile === undefined) throw new FlagError(`--${keyFlag} needs --${certFlag}`);
  if (keyFile === undefined) throw new FlagError(`--${certFlag} needs --${keyFlag}`);
  return { tls: { certFile, keyFile } };
}
