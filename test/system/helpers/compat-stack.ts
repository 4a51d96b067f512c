/**
 * The common ground of the querier compatibility suites (query-compat, query-fuzz-compat): the
 * compatibility data written as one block into a Prometheus 2.42 TSDB directory and into a
 * filesystem bucket, a real Prometheus over the former and a Meridian store gateway + querier over
 * the latter, so the same request can go to both.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFilesystemBucket } from "../../../src/runtime/node/filesystem-bucket.ts";
import { writeBlockDir } from "../../../src/runtime/node/write-block-dir.ts";
import { writeBlock } from "../../../src/tsdb/block-writer.ts";
import { makeCompatSeries } from "../../helpers/query-compat-data.ts";
import { startTestQuerier, startTestStore, type TestQuerier, type TestStore } from "../../helpers/query-stack.ts";
import { startPrometheus, type RunningPrometheus } from "./promtool.ts";

/** Prometheus and a Meridian store + querier over the same block. */
export interface CompatStack {
  readonly prom: RunningPrometheus;
  readonly store: TestStore;
  readonly querier: TestQuerier;
  /** A scratch directory removed by {@link CompatStack.stop}. */
  readonly work: string;
  /** Stops the querier, the store and Prometheus, and removes the scratch directory. */
  stop(): Promise<void>;
}

/** Starts a {@link CompatStack}; `name` goes into the scratch directory's name. */
export async function startCompatStack(name: string): Promise<CompatStack> {
  const work = await mkdtemp(join(tmpdir(), `meridian-${name}-`));
  const block = writeBlock(makeCompatSeries(), {});
  const tsdb = join(work, "prom-tsdb");
  const bucketDir = join(work, "bucket");
  await mkdir(tsdb, { recursive: true });
  await mkdir(bucketDir, { recursive: true });
  await writeBlockDir(tsdb, block);
  await writeBlockDir(bucketDir, block);
  const [prom, store] = await Promise.all([startPrometheus(tsdb, work), startTestStore(createFilesystemBucket(bucketDir))]);
  const querier = await startTestQuerier([store.address]);
  return {
    prom, store, querier, work,
    async stop() {
      await querier.close();
      await store.stop();
      await prom.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
