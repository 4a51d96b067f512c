/**
 * Bearer-token authentication shared by the HTTP app and the gRPC server. The comparison is
 * constant-time so response timing does not leak how much of a guessed token was right, and a
 * rejected caller learns nothing beyond "unauthenticated".
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Interceptor } from "@connectrpc/connect";

const encoder = new TextEncoder();

/**
 * Compares the presented string `given` with the secret `expected` in time that depends only on
 * the length of `given`, not on where (or whether) they differ.
 */
export function constantTimeEqual(given: string, expected: string): boolean {
  const x = encoder.encode(given);
  const y = encoder.encode(expected);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i] ?? 0);
  return diff === 0;
}

/** True when the `Authorization` header value carries exactly `Bearer <token>`. */
export function isAuthorized(authorization: string | null | undefined, token: string): boolean {
  const value = authorization ?? "";
  const prefix = "bearer ";
  const scheme = value.slice(0, prefix.length).toLowerCase();
  // Always run the comparison so a missing header and a wrong token take the same path.
  const ok = constantTimeEqual(value.slice(prefix.length), token);
  return scheme === prefix && ok;
}

/** Message of every authentication failure: deliberately says nothing about the reason. */
export const UNAUTHENTICATED_MESSAGE = "unauthenticated";

/** Services callable without a token: the gRPC health check, which orchestrator probes cannot authenticate for. */
const OPEN_SERVICES = new Set(["grpc.health.v1.Health"]);

/** Connect interceptor rejecting calls without the right bearer token with `Unauthenticated`. */
export function createBearerTokenInterceptor(token: string): Interceptor {
  return (next) => async (req) => {
    if (!OPEN_SERVICES.has(req.service.typeName) && !isAuthorized(req.header.get("authorization"), token)) {
      throw new ConnectError(UNAUTHENTICATED_MESSAGE, Code.Unauthenticated);
    }
    return next(req);
  };
}
