import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createComponentApp } from "../../server/app.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createTestStore } from "../../server/test-store.ts";
import { openEndpointsFromFlags } from "./endpoints.ts";
import { startGrpcServer, startHttpServer } from "./serve.ts";
import type { RunningServer } from "./serve.ts";

let grpc: RunningServer;
let http: RunningServer;
let dir: string;
const store = createTestStore({ externalLabels: { region: "r1" }, series: [{ labels: { job: "a" }, chunks: [{ minTime: 0, maxTime: 9, data: new Uint8Array([1]) }] }] });

beforeAll(async () => {
  grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store, bearerToken: "t" });
  const app = createComponentApp({ storeApi: store, ready: () => true, metrics: createMetricsRegistry(), bearerToken: "t" });
  http = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch });
  dir = mkdtempSync(join(tmpdir(), "meridian-endpoints-"));
});

afterAll(async () => {
  await Promise.all([grpc.close(), http.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("openEndpointsFromFlags", () => {
  it("combines --endpoint and the SD file and probes both with the token", async () => {
    const file = join(dir, "sd.yml");
    writeFileSync(file, `- http://127.0.0.1:${http.port}\n`);
    const eps = await openEndpointsFromFlags({ endpoint: [`127.0.0.1:${grpc.port}`], "endpoint.sd-config-file": file }, { bearerToken: "t" });
    try {
      await eps.set.firstProbe;
      expect(eps.set.statuses().map((s) => [s.protocol, s.source, s.health, s.componentType])).toEqual([
        ["grpc", "flag", "healthy", "store"],
        ["connect", "file", "healthy", "store"],
      ]);
      expect(eps.set.stores()).toHaveLength(2);
    } finally {
      eps.close();
    }
  });

  it("names the flag on bad values", async () => {
    await expect(openEndpointsFromFlags({ endpoint: ["nope"] })).rejects.toThrow(/--endpoint\[0\]/);
    await expect(openEndpointsFromFlags({ "endpoint.sd-config-file": join(dir, "missing.yml") })).rejects.toThrow(/--endpoint.sd-config-file: .*missing\.yml/);
    const bad = join(dir, "bad.yml");
    writeFileSync(bad, "endpoints: 3\n");
    await expect(openEndpointsFromFlags({ "endpoint.sd-config-file": bad })).rejects.toThrow(/"endpoints" must be a list/);
  });
});
