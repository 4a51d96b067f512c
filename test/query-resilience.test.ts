/**
 * The querier's native gRPC client against stores that go away: a store's GOAWAY reaching a
 * session just as it is aborted or reused, stores closed with streams in flight, stores killed
 * (connection reset), clients closed mid-call, and a store restart. No error may escape as an
 * uncaught exception or unhandled rejection (that would kill a production querier); calls fail
 * with a ConnectError, and the querier reconnects once the store is back.
 */
import { once } from "node:events";
import type http2 from "node:http2";
import net from "node:net";
import { create } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LabelNamesRequestSchema, SeriesRequestSchema } from "../src/gen/store/storepb/rpc_pb.ts";
import type { SeriesResponse } from "../src/gen/store/storepb/rpc_pb.ts";
import { createEndpointSet } from "../src/query/endpoint-set.ts";
import { createStoreClient } from "../src/query/store-client.ts";
import type { StoreClient, StoreTransportFactory } from "../src/query/store-client.ts";
import { startGrpcServer } from "../src/runtime/node/serve.ts";
import type { RunningServer } from "../src/runtime/node/serve.ts";
import { createGrpcTransportHandle } from "../src/runtime/node/store-transport.ts";
import type { WideWindowSessionManager } from "../src/runtime/node/store-transport.ts";
import { createTestStore } from "../src/server/test-store.ts";
import type { TestStoreOptions } from "../src/server/test-store.ts";

// Errors that escaped to the process; every test ends by asserting there were none. An escaped
// error also fails whatever `orEscape` waits for (a session whose 'error' event escaped never
// emits 'close', so the test would otherwise hang until its timeout).
const escaped: unknown[] = [];
let failEscaped: (err: unknown) => void = () => {};
let escapes: Promise<never> = new Promise(() => {});
const onEscape = (err: unknown): void => {
  escaped.push(err);
  failEscaped(err);
};
function orEscape<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, escapes]);
}
beforeEach(() => {
  escaped.length = 0;
  escapes = new Promise<never>((_, reject) => { failEscaped = reject; });
  escapes.catch(() => {}); // only awaited through orEscape
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
});
afterEach(() => {
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
});

const SERIES = [
  { labels: { __name__: "up", job: "a" }, chunks: [{ minTime: 0, maxTime: 10, data: new Uint8Array([0, 1, 2]) }] },
  { labels: { __name__: "up", job: "b" }, chunks: [{ minTime: 0, maxTime: 10, data: new Uint8Array([3, 4, 5]) }] },
];
const ALL = create(SeriesRequestSchema, { minTime: 0n, maxTime: 100n, matchers: [{ type: 2, name: "__name__", value: ".+" }] });

function startStore(address = "127.0.0.1:0", extra: Partial<TestStoreOptions> = {}): Promise<RunningServer> {
  return startGrpcServer({ address, storeApi: createTestStore({ series: SERIES, ...extra }) });
}

/**
 * A store that sends its first frame, then stalls before the second until its call is aborted;
 * `inFlight` resolves once a call has reached the stall.
 */
async function startStallingStore(): Promise<{ server: RunningServer; inFlight: Promise<void> }> {
  let started!: () => void;
  const inFlight = new Promise<void>((r) => { started = r; });
  const server = await startStore("127.0.0.1:0", {
    beforeFrame: async (i, signal) => {
      if (i === 1) {
        started();
        await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
      }
    },
  });
  return { server, inFlight };
}

/** A store client over the native gRPC transport, exposing its session manager. */
function dial(port: number): { client: StoreClient; mgr: () => WideWindowSessionManager } {
  let mgr: WideWindowSessionManager | undefined;
  const transportFactory: StoreTransportFactory = (target, interceptors) => {
    const h = createGrpcTransportHandle(target, interceptors);
    mgr = h.sessionManager;
    return h;
  };
  const client = createStoreClient(`127.0.0.1:${port}`, { transportFactory });
  return { client, mgr: () => mgr! };
}

async function drain(stream: AsyncIterable<SeriesResponse>): Promise<number> {
  let n = 0;
  for await (const f of stream) if (f.result.case === "series") n++;
  return n;
}

/** Resolves with the error a promise rejects with; fails the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

/**
 * Resolves on the session's 'close' event (Node emits a destroyed session's late 'error' just
 * before it); call it before whatever closes the session. Adds no 'error' listener of its own.
 */
function sessionClosed(s: http2.Http2Session): Promise<void> {
  return new Promise((resolve) => s.once("close", () => resolve()));
}

/** Resolves on the session's 'goaway' event, without adding an 'error' listener. */
function goawayOf(s: http2.Http2Session): Promise<void> {
  return new Promise((resolve) => s.once("goaway", () => resolve()));
}

/** A TCP relay in front of a store, so a test can kill its connections with a reset (no GOAWAY). */
async function startRelay(targetPort: number): Promise<{ port: number; reset(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  };
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, "127.0.0.1");
    track(down);
    track(up);
    down.pipe(up);
    up.pipe(down);
    up.on("close", () => down.destroy());
    down.on("close", () => up.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as net.AddressInfo).port,
    reset() {
      for (const s of sockets) s.resetAndDestroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe("native gRPC store client when stores go away", () => {
  it("a GOAWAY arriving just before the client is closed raises no uncaught error", async () => {
    const server = await startStore();
    const { client, mgr } = dial(server.port);
    await client.info();
    const session = mgr().lastSession!;
    const gone = sessionClosed(session);
    const goaway = goawayOf(session);
    const closed = server.close(1000);
    await goaway;
    // The manager has just destroyed the idle session; its 'error' event is still to come.
    client.close();
    client.close(); // idempotent
    await closed;
    await orEscape(gone);
    expect(escaped).toEqual([]);
  });

  it("a call made right after a GOAWAY fails with a ConnectError or reaches the restarted store", async () => {
    const server = await startStore();
    const { client, mgr } = dial(server.port);
    try {
      await client.info();
      const session = mgr().lastSession!;
      const gone = sessionClosed(session);
      const goaway = goawayOf(session);
      const closed = server.close(1000);
      await goaway;
      // A probe in the window between the GOAWAY and the session's error event (the store is gone).
      expect(await rejection(client.info())).toBeInstanceOf(ConnectError);
      await closed;
      await orEscape(gone);
      const restarted = await startStore(`127.0.0.1:${server.port}`);
      try {
        expect(await drain(client.series(ALL))).toBe(2);
        expect(mgr().lastSession === session).toBe(false);
      } finally {
        client.close();
        await restarted.close(1000);
      }
    } finally {
      client.close();
    }
    expect(escaped).toEqual([]);
  });

  it("closing the client before the store shuts down raises no uncaught error", async () => {
    const server = await startStore();
    const { client, mgr } = dial(server.port);
    expect(await drain(client.series(ALL))).toBe(2);
    const session = mgr().lastSession!;
    const gone = sessionClosed(session);
    client.close();
    await server.close(1000);
    await orEscape(gone);
    expect(escaped).toEqual([]);
  });

  it("a Series stream in flight when the store shuts down gracefully completes (drain)", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    let started!: () => void;
    const inFlight = new Promise<void>((r) => { started = r; });
    const server = await startStore("127.0.0.1:0", {
      beforeFrame: async (i) => {
        if (i === 1) { started(); await released; }
      },
    });
    const { client, mgr } = dial(server.port);
    try {
      const result = drain(client.series(ALL));
      await inFlight;
      const goaway = goawayOf(mgr().lastSession!);
      const closed = server.close(10_000);
      await goaway;
      release();
      expect(await result).toBe(2);
      await closed;
    } finally {
      client.close();
    }
    expect(escaped).toEqual([]);
  });

  it("a Series stream cut off when the store's drain time runs out fails with a ConnectError", async () => {
    const { server, inFlight } = await startStallingStore();
    const { client } = dial(server.port);
    try {
      const result = rejection(drain(client.series(ALL)));
      await inFlight;
      await server.close(50);
      expect(await result).toBeInstanceOf(ConnectError);
    } finally {
      client.close();
    }
    expect(escaped).toEqual([]);
  });

  it("a store killed while the session is idle or streaming: calls fail with a ConnectError, then reconnect", async () => {
    let stall = true;
    let started!: () => void;
    const inFlight = new Promise<void>((r) => { started = r; });
    const server = await startStore("127.0.0.1:0", {
      beforeFrame: async (i, signal) => {
        if (i === 1 && stall) {
          started();
          await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
        }
      },
    });
    const relay = await startRelay(server.port);
    const { client, mgr } = dial(relay.port);
    try {
      // Killed while idle.
      await client.info();
      let session = mgr().lastSession!;
      let gone = sessionClosed(session);
      relay.reset();
      await orEscape(gone);
      await client.info(); // a fresh connection through the relay
      // Killed while a Series stream is in flight.
      const result = rejection(drain(client.series(ALL)));
      await inFlight;
      session = mgr().lastSession!;
      gone = sessionClosed(session);
      relay.reset();
      expect(await result).toBeInstanceOf(ConnectError);
      await orEscape(gone);
      stall = false;
      expect(await drain(client.series(ALL))).toBe(2);
    } finally {
      client.close();
      await relay.close();
      await server.close(1000);
    }
    expect(escaped).toEqual([]);
  });

  it("closing the client fails its in-flight calls with a ConnectError, and later calls too", async () => {
    const { server, inFlight } = await startStallingStore();
    const { client, mgr } = dial(server.port);
    try {
      const streams = [rejection(drain(client.series(ALL))), rejection(drain(client.series(ALL)))];
      await inFlight;
      const session = mgr().lastSession!;
      const gone = sessionClosed(session);
      client.close();
      for (const err of await Promise.all(streams)) expect(err).toBeInstanceOf(ConnectError);
      await orEscape(gone);
      // After close: rejected promises and failing streams, never a synchronous throw.
      const later = [client.info(), client.labelNames(create(LabelNamesRequestSchema, {})), drain(client.series(ALL))];
      for (const p of later) expect(await rejection(p)).toBeInstanceOf(ConnectError);
    } finally {
      await server.close(1000);
    }
    expect(escaped).toEqual([]);
  });

  it("the querier's endpoint set follows a store restart: unhealthy while down, healthy and queryable after", async () => {
    const server = await startStore();
    const address = `127.0.0.1:${server.port}`;
    let mgr: WideWindowSessionManager | undefined;
    const set = createEndpointSet({
      staticEndpoints: [{ address }],
      infoTimeoutMs: 5000,
      clientFactory: (spec) => createStoreClient(spec.address, {
        transportFactory: (target, interceptors) => {
          const h = createGrpcTransportHandle(target, interceptors);
          mgr = h.sessionManager;
          return h;
        },
      }),
    });
    let restarted: RunningServer | undefined;
    try {
      await set.probe();
      expect(set.statuses()[0]!.health).toBe("healthy");
      const session = mgr!.lastSession!;
      const gone = sessionClosed(session);
      const goaway = goawayOf(session);
      const closed = server.close(1000);
      await goaway;
      await set.probe(); // right in the GOAWAY window
      await closed;
      await orEscape(gone);
      await set.probe();
      expect(set.statuses()[0]!.health).toBe("unhealthy");
      expect(set.stores()).toEqual([]);
      restarted = await startStore(address);
      await set.probe();
      expect(set.statuses()[0]!.health).toBe("healthy");
      const [store] = set.stores();
      expect(await drain(store!.client.series(ALL))).toBe(2);
      expect(mgr!.lastSession === session).toBe(false);
    } finally {
      set.close();
      await restarted?.close(1000);
    }
    expect(escaped).toEqual([]);
  });
});
