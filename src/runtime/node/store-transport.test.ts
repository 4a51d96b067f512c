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

  it("guards sessions that never carried a stream: a GOAWAY then abort() raises no uncaught error", async () => {
    const escaped: unknown[] = [];
    let fail: (err: unknown) => void = () => {};
    const escapes = new Promise<never>((_, reject) => { fail = reject; });
    escapes.catch(() => {});
    const onEscape = (err: unknown): void => { escaped.push(err); fail(err); };
    process.on("uncaughtException", onEscape);
    process.on("unhandledRejection", onEscape);
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: createTestStore({ series: [] }) });
    const mgr = new WideWindowSessionManager(`http://127.0.0.1:${server.port}`);
    try {
      expect(await mgr.connect()).toBe("idle"); // a session, but no request through request()
      const session = mgr.lastSession!;
      const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
      const gone = new Promise<void>((r) => session.once("close", () => r()));
      const closed = server.close(1000);
      await goaway;
      mgr.abort(); // the manager detaches its listeners while the session's 'error' event is pending
      await closed;
      await Promise.race([gone, escapes]);
      expect(escaped).toEqual([]);
    } finally {
      process.off("uncaughtException", onEscape);
      process.off("unhandledRejection", onEscape);
      mgr.abort();
    }
  });
});
