/**
 * The standard gRPC health service (`grpc.health.v1.Health`) next to the StoreAPI, as Thanos
 * components serve it: Kubernetes gRPC probes and grpc_health_probe ask it whether the component is
 * ready. SERVING once `ready()` is true, NOT_SERVING before; unknown service names are NotFound.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";
import type { HealthCheckResponse } from "../gen/grpc/health/v1/health_pb.ts";

/** Service names the health service answers for ("" is the whole server). */
export const HEALTH_SERVICES: readonly string[] = ["", "thanos.Store", "thanos.info.Info"];

function response(status: HealthCheckResponse_ServingStatus): HealthCheckResponse {
  return { $typeName: "grpc.health.v1.HealthCheckResponse", status };
}

function statusOf(ready: () => boolean): HealthCheckResponse_ServingStatus {
  return ready() ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.NOT_SERVING;
}

/** Registers `grpc.health.v1.Health`; Watch re-checks readiness every `watchIntervalMs` (default 1 s). */
export function registerHealth(router: ConnectRouter, ready: () => boolean, watchIntervalMs = 1000): void {
  router.service(Health, {
    check(req) {
      if (!HEALTH_SERVICES.includes(req.service)) throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
      return response(statusOf(ready));
    },
    async *watch(req, ctx) {
      if (!HEALTH_SERVICES.includes(req.service)) {
        yield response(HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN);
        return;
      }
      let last: HealthCheckResponse_ServingStatus | undefined;
      while (!ctx.signal.aborted) {
        const now = statusOf(ready);
        if (now !== last) {
          last = now;
          yield response(now);
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, watchIntervalMs);
          ctx.signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
        });
      }
    },
  });
}
