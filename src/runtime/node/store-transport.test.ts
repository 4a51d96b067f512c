import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { Info } from "../../gen/info/infopb/rpc_pb.ts";
import { createTestStore } from "../../server/test-store.ts";
import { startGrpcServer } from "./serve.ts";
import { STORE_CLIENT_WINDOW_BYTES, WideWindowSessionManager } from "./store-transport.ts";

describe("WideWindowSessionManager", () => {
  it("raises the connection and stream receive windows of its sessions", async () => {
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: createTestStore({ series: [] }) });
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const mgr = new WideWindowSessionManager(baseUrl);
    try {
      await createClient(Info, createGrpcTransport({ baseUrl, sessionManager: mgr })).info({});
      const state = mgr.lastSession!.state;
      // The connection window, less the few bytes of the Info response not yet acknowledged.
      expect(state.localWindowSize).toBeGreaterThan(STORE_CLIENT_WINDOW_BYTES - 4096);
      expect(mgr.lastSession!.localSettings.initialWindowSize).toBe(STORE_CLIENT_WINDOW_BYTES);
    } finally {
      mgr.abort();
      await server.close(1000);
    }
  });
});
