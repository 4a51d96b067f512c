/**
 * A stopped store, started as a user would (built CLI): two `meridian store` processes over two
 * s3rver buckets and one `meridian query` reading its endpoints from `--endpoint.sd-config-file`
 * with `strict: true` (always queried, so the outcome does not depend on when the next health
 * probe runs). After one store process is stopped the querier must answer with a warning
 * (partial response on, the default), fail with a 5xx naming the store (off), never hang, and
 * show the store unhealthy on /api/v1/stores.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3Bucket } from "../../src/objstore/s3-bucket.ts";
import { writeBlock } from "../../src/tsdb/block-writer.ts";
import { COMPAT_HOURS, COMPAT_T0, makeCompatSeries } from "../helpers/query-compat-data.ts";
import { haveBuiltCli, startCliComponent, type CliComponent } from "../helpers/query-cli.ts";
import { uploadWrittenBlock, waitFor } from "../helpers/query-stack.ts";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver.ts";

const ready = haveBuiltCli();
if (!ready) console.warn("SKIPPED query-cli-partial: needs `npm run build`");

const END = COMPAT_T0 + COMPAT_HOURS * 3600_000;
const enc = encodeURIComponent;
let work = "";
let s3: S3rverHandle | undefined;
const stores: CliComponent[] = [];
let query: CliComponent | undefined;
let url = "";

beforeAll(async () => {
  if (!ready) return;
  work = await mkdtemp(join(tmpdir(), "meridian-query-cli-partial-"));
  s3 = await startS3rver(["eu", "us"]);
  for (const cluster of ["eu", "us"]) {
    const bucket = createS3Bucket(s3.config(cluster));
    await uploadWrittenBlock(bucket, writeBlock(makeCompatSeries(), { thanos: { labels: { cluster, replica: "a" }, source: "sidecar" } }));
    await bucket.close();
    stores.push(await startCliComponent(["store", `--objstore.config=${s3.yaml(cluster)}`, `--data-dir=${join(work, `store-${cluster}`)}`], work));
  }
  const sd = join(work, "endpoints.yaml");
  await writeFile(sd, `endpoints:\n${stores.map((s) => `  - address: 127.0.0.1:${s.grpcPort}\n    strict: true\n`).join("")}`);
  query = await startCliComponent(["query", `--endpoint.sd-config-file=${sd}`, "--query.replica-label=replica"], work);
  url = `http://127.0.0.1:${query.httpPort}`;
  await waitFor(async () => (await clusters("")).length === 2, "both stores' data", 60_000);
});

afterAll(async () => {
  await query?.stop();
  await Promise.all(stores.map((s) => s.stop()));
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: await res.json() };
}

async function clusters(extra: string): Promise<string[]> {
  const res = await fetch(`${url}/api/v1/query?query=${enc("count by (cluster) (node_load1)")}&time=${(END - 60_000) / 1000}${extra}`).catch(() => undefined);
  if (!res || res.status !== 200) return [];
  const body = (await res.json()) as { data: { result: { metric: { cluster: string } }[] } };
  return body.data.result.map((r) => r.metric.cluster).sort();
}

describe.skipIf(!ready)("meridian query (CLI) when a meridian store process stops", () => {
  it("answers from both stores while both run", async () => {
    expect(await clusters("")).toEqual(["eu", "us"]);
  });

  it("turns the stopped store into a warning, or a 5xx naming it with partial_response=false", async () => {
    const us = stores[1]!;
    await us.stop();
    const address = `127.0.0.1:${us.grpcPort}`;

    const warned = await get(`/api/v1/query?query=${enc("count by (cluster) (node_load1)")}&time=${(END - 60_000) / 1000}`);
    expect(warned.status).toBe(200);
    expect(warned.body.data.result).toEqual([{ metric: { cluster: "eu" }, value: [(END - 60_000) / 1000, "3"] }]);
    expect(warned.body.warnings.join("\n")).toContain(address);

    const failed = await get(`/api/v1/query_range?query=node_load1&start=${COMPAT_T0 / 1000}&end=${END / 1000}&step=60&partial_response=false`);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(failed.body.status).toBe("error");
    expect(failed.body.error).toContain(address);

    const labels = await get(`/api/v1/label/cluster/values`);
    expect(labels.body.data).toEqual(["eu"]);
    expect(labels.body.warnings.join("\n")).toContain(address);
  });

  it("shows the stopped store as unhealthy on /api/v1/stores after the next probe", async () => {
    const address = `127.0.0.1:${stores[1]!.grpcPort}`;
    await waitFor(async () => {
      const { body } = await get("/api/v1/stores");
      const all = Object.values(body.data).flat() as { name: string; health: string }[];
      return all.some((s) => s.name === address && s.health === "unhealthy");
    }, "the store to be marked unhealthy", 20_000);
    const { body } = await get("/api/v1/stores");
    const all = Object.values(body.data).flat() as { name: string; health: string; lastError: string | null }[];
    expect(all.find((s) => s.name === address)!.lastError).toMatch(/\S/);
    expect(all.find((s) => s.name === `127.0.0.1:${stores[0]!.grpcPort}`)!.health).toBe("healthy");
  });
});
