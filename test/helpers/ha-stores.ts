/**
 * Test setup shared by querier suites: blocks in in-memory buckets, one store gateway per bucket
 * served over native gRPC on loopback, an endpoint set probing them and a query component on top.
 */
import type { WrittenBlock } from "../../src/tsdb/block-writer.ts";
import type { Bucket } from "../../src/objstore/bucket.ts";
import { createMemoryBucket } from "../../src/objstore/memory-bucket.ts";
import { createEndpointSet, type EndpointSet } from "../../src/query/endpoint-set.ts";
import { createQueryComponent, type QueryComponent, type QueryComponentOptions } from "../../src/query/query-component.ts";
import { createStoreClient } from "../../src/query/store-client.ts";
import { createMetricsRegistry } from "../../src/server/metrics.ts";
import { createBucketStore } from "../../src/store/bucket-store.ts";
import { loadWasm } from "../../src/runtime/node/load-wasm.ts";
import { startGrpcServer, type RunningServer } from "../../src/runtime/node/serve.ts";
import { createNodeTransportFactory } from "../../src/runtime/node/store-transport.ts";

/** Uploads a written block the way the shipper does: meta.json last. */
export async function uploadBlock(bucket: Bucket, block: WrittenBlock): Promise<void> {
  for (const [rel, body] of block.files) if (rel !== "meta.json") await bucket.upload(`${block.ulid}/${rel}`, body);
  await bucket.upload(`${block.ulid}/meta.json`, block.files.get("meta.json")!);
}

/** A querier over store gateways, with everything needed to stop it. */
export interface HaSetup {
  readonly query: QueryComponent;
  readonly endpoints: EndpointSet;
  /** `127.0.0.1:port` of each store gateway, in the order of the block groups given. */
  readonly storeAddresses: string[];
  close(): Promise<void>;
}

/** Starts one store gateway per group of blocks and a querier over them. */
export async function startHaSetup(
  blockGroups: readonly (readonly WrittenBlock[])[],
  opts: Partial<Omit<QueryComponentOptions, "endpoints" | "wasm" | "metrics">> = {},
): Promise<HaSetup> {
  const wasm = await loadWasm();
  const servers: RunningServer[] = [];
  const storeAddresses: string[] = [];
  for (const [i, blocks] of blockGroups.entries()) {
    const bucket = createMemoryBucket(`store-${i}`);
    for (const b of blocks) await uploadBlock(bucket, b);
    const store = createBucketStore({ bucket, metrics: createMetricsRegistry(), wasm });
    await store.sync();
    const grpc = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store.storeApi, ready: store.ready });
    servers.push(grpc);
    storeAddresses.push(`127.0.0.1:${grpc.port}`);
  }
  const transportFactory = createNodeTransportFactory();
  const endpoints = createEndpointSet({
    staticEndpoints: storeAddresses.map((address) => ({ address })),
    clientFactory: (spec) => createStoreClient(spec.address, { transportFactory }),
  });
  endpoints.start();
  await endpoints.firstProbe;
  const query = createQueryComponent({ endpoints, wasm, metrics: createMetricsRegistry(), ...opts });
  return {
    query,
    endpoints,
    storeAddresses,
    async close() {
      endpoints.close();
      await Promise.all(servers.map((s) => s.close(1000)));
    },
  };
}
