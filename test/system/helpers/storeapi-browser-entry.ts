/**
 * Bundled for Chromium by test/system/storeapi-browser.test.ts: Meridian's runtime-neutral StoreAPI
 * client (Connect over fetch) and a connect-web gRPC-Web client, run inside a real browser page.
 */
import { create } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { LabelNamesRequestSchema, SeriesRequestSchema, Store } from "../../../src/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../../../src/gen/store/storepb/types_pb.ts";
import { createStoreClient } from "../../../src/query/store-client.ts";

/** What the page reports back to the test. */
export interface BrowserResult {
  componentType?: string;
  series?: string[];
  labelNames?: string[];
  grpcWebSeries?: string[];
  grpcWebBadRegexCode?: string;
  error?: string;
}

async function run(baseUrl: string): Promise<BrowserResult> {
  try {
    const client = createStoreClient(baseUrl);
    const info = await client.info(undefined, 5000);
    const req = create(SeriesRequestSchema, { minTime: 0n, maxTime: 1000n, matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: ".+" }] });
    const series: string[] = [];
    for await (const f of client.series(req)) {
      if (f.result.case === "series") series.push(f.result.value.labels.map((l) => `${l.name}=${l.value}`).join(","));
    }
    const labelNames = (await client.labelNames(create(LabelNamesRequestSchema, { start: 0n, end: 1000n }))).names;

    const web = createClient(Store, createGrpcWebTransport({ baseUrl }));
    const grpcWebSeries: string[] = [];
    for await (const f of web.series(req)) {
      if (f.result.case === "series") grpcWebSeries.push(f.result.value.labels.map((l) => l.value).join(","));
    }
    let grpcWebBadRegexCode = "none";
    try {
      const bad = create(SeriesRequestSchema, { matchers: [{ type: LabelMatcher_Type.RE, name: "job", value: "(" }] });
      for await (const _ of web.series(bad)) { /* drain */ }
    } catch (err) {
      grpcWebBadRegexCode = String(ConnectError.from(err).code);
    }
    return { componentType: info.ComponentType, series, labelNames, grpcWebSeries, grpcWebBadRegexCode };
  } catch (err) {
    return { error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

(globalThis as unknown as { meridianRun: typeof run }).meridianRun = run;
