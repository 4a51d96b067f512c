import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SeriesRequestSchema } from "../../gen/store/storepb/rpc_pb.ts";
import type { SeriesRequest, SeriesResponse } from "../../gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../../gen/store/storepb/types_pb.ts";
import { createStoreClient } from "../../query/store-client.ts";
import type { StoreClient } from "../../query/store-client.ts";
import type { StoreCallContext } from "../../server/store-api.ts";
import { createTestStore } from "../../server/test-store.ts";
import type { TestSeries } from "../../server/test-store.ts";
import { startGrpcServer } from "./serve.ts";
import type { RunningServer } from "./serve.ts";
import { createNodeTransportFactory } from "./store-transport.ts";

// 300 series, some with chunks far larger than an HTTP/2 DATA frame (16 KiB), so response messages
// arrive split over many chunks and several messages share chunks.
const series: TestSeries[] = Array.from({ length: 300 }, (_, i) => ({
  labels: { __name__: "m", i: String(i).padStart(3, "0"), job: `j${i % 7}` },
  chunks: Array.from({ length: 1 + (i % 3) }, (_, k) => ({
    minTime: k * 1000, maxTime: k * 1000 + 999,
    data: Uint8Array.from({ length: i % 50 === 0 ? 70_000 : 40 + i }, (_, b) => (b * 31 + i + k) & 0xff),
    hash: BigInt(i * 10 + k + 1),
  })),
}));

const seen: (StoreCallContext | undefined)[] = [];
let server: RunningServer;
let authed: RunningServer;
let failing: RunningServer;

beforeAll(async () => {
  const store = createTestStore({ series, warnings: ["careful"], externalLabels: { cluster: "eu" }, onCall: (_, call) => seen.push(call) });
  server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store });
  authed = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store, bearerToken: "s3cret" });
  failing = await startGrpcServer({
    address: "127.0.0.1:0",
    storeApi: createTestStore({ series, beforeFrame: (i) => { if (i === 3) throw new ConnectError("disk on fire", Code.ResourceExhausted); } }),
  });
});

afterAll(async () => {
  await Promise.all([server, authed, failing].map((s) => s.close(1000)));
});

function request(batch: bigint, matchers = [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "m" }]): SeriesRequest {
  return create(SeriesRequestSchema, { minTime: 0n, maxTime: 10_000n, matchers, responseBatchSize: batch });
}

/** Both clients of one address: the native fast path and the Connect transport. */
function clients(port: number, opts: { bearerToken?: string } = {}): { fast: StoreClient; connect: StoreClient } {
  const transportFactory = createNodeTransportFactory();
  const fast = createStoreClient(`127.0.0.1:${port}`, { transportFactory, ...opts });
  // The same factory with the fast path hidden: what the store client used before.
  const connect = createStoreClient(`127.0.0.1:${port}`, {
    ...opts,
    transportFactory: (t, i) => { const h = transportFactory(t, i); return { transport: h.transport, close: () => h.close() }; },
  });
  return { fast, connect };
}

async function drain(it: AsyncIterable<SeriesResponse>): Promise<SeriesResponse[]> {
  const out: SeriesResponse[] = [];
  for await (const f of it) out.push(f);
  return out;
}

async function failureOf(it: AsyncIterable<SeriesResponse>): Promise<ConnectError> {
  try {
    await drain(it);
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return err as ConnectError;
  }
  throw new Error("the call did not fail");
}

describe("native gRPC Series client", () => {
  it("yields the frames the Connect transport yields (single series and batches, split messages)", async () => {
    const { fast, connect } = clients(server.port);
    try {
      for (const batch of [0n, 64n]) {
        const a = await drain(fast.series(request(batch)));
        const b = await drain(connect.series(request(batch)));
        expect(a.length).toBeGreaterThan(4);
        expect(a).toEqual(b);
      }
    } finally {
      fast.close();
      connect.close();
    }
  });

  it("sends the bearer token and the tenant; a wrong token fails as on the Connect path", async () => {
    const ok = clients(authed.port, { bearerToken: "s3cret" });
    const bad = clients(authed.port, { bearerToken: "wrong" });
    try {
      seen.length = 0;
      const frames = await drain(ok.fast.series(request(64n), undefined, { tenant: "team-a" }));
      expect(frames.length).toBeGreaterThan(0);
      expect(seen.map((c) => c?.tenant)).toEqual(["team-a"]);
      const e1 = await failureOf(bad.fast.series(request(64n)));
      const e2 = await failureOf(bad.connect.series(request(64n)));
      expect(e1.code).toBe(Code.Unauthenticated);
      expect([e1.code, e1.message]).toEqual([e2.code, e2.message]);
    } finally {
      for (const c of [ok, bad]) { c.fast.close(); c.connect.close(); }
    }
  });

  it("fails with the store's status, code and message, after the frames sent before it", async () => {
    const { fast, connect } = clients(failing.port);
    try {
      const e1 = await failureOf(fast.series(request(0n)));
      const e2 = await failureOf(connect.series(request(0n)));
      expect(e1.code).toBe(Code.ResourceExhausted);
      expect([e1.code, e1.rawMessage]).toEqual([e2.code, e2.rawMessage]);
      // Invalid matcher: rejected before any frame (a trailers-only response).
      const bad = request(0n, [{ type: LabelMatcher_Type.RE, name: "a", value: "(" }]);
      const e3 = await failureOf(fast.series(bad));
      const e4 = await failureOf(connect.series(bad));
      expect([e3.code, e3.rawMessage]).toEqual([e4.code, e4.rawMessage]);
    } finally {
      fast.close();
      connect.close();
    }
  });

  it("an unreachable store is Unavailable, a canceled call Canceled, and stopping early leaves the client usable", async () => {
    const dead = await startGrpcServer({ address: "127.0.0.1:0", storeApi: createTestStore({ series: [] }) });
    await dead.close();
    const gone = clients(dead.port);
    const { fast } = clients(server.port);
    try {
      expect((await failureOf(gone.fast.series(request(0n)))).code).toBe(Code.Unavailable);
      const ac = new AbortController();
      ac.abort();
      expect((await failureOf(fast.series(request(0n), ac.signal))).code).toBe(Code.Canceled);
      const ac2 = new AbortController();
      let n = 0;
      const err = await failureOf((async function* () {
        for await (const f of fast.series(request(0n), ac2.signal)) {
          yield f;
          if (++n === 2) ac2.abort();
        }
      })());
      expect(err.code).toBe(Code.Canceled);
      for await (const _ of fast.series(request(0n))) break; // return() cancels the stream
      expect((await drain(fast.series(request(64n)))).length).toBeGreaterThan(0);
      fast.close();
      expect((await failureOf(fast.series(request(0n)))).code).toBe(Code.Canceled);
    } finally {
      gone.fast.close();
      gone.connect.close();
      fast.close();
    }
  });
});
