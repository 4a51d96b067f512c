/**
 * Killing `meridian sidecar` (SIGKILL, the built CLI) in the middle of a block upload leaves no
 * block that readers take as complete, and the restarted sidecar finishes the upload. Prometheus
 * 2.42 serves a TSDB holding two real blocks; the bucket is s3rver behind a proxy that holds the
 * second block's `index` upload until the sidecar has been killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bucket } from "../../src/objstore/bucket.ts";
import { createS3Bucket } from "../../src/objstore/s3-bucket.ts";
import { parseBlockMeta } from "../../src/tsdb/meta.ts";
import { startS3rver, type S3rverHandle } from "../helpers/s3rver.ts";

const CLI = join(process.cwd(), "dist/src/runtime/node/cli.js");
const FIXTURE = "/work/shared/fixtures/blocks/prometheus-2.42-scraped";
const OLD = "01M8935ZA2E02N370CW2A8WPCX";
const NEW = "01M89368HXR87AQGZF70G716T6";
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let dir: string;
let s3: S3rverHandle;
let bucket: Bucket;
let promUrl: string;
let proxyPort = 0;
let holdIndexOf: string | undefined;
let onHeld: (() => void) | undefined;

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function startSidecar(): ChildProcess {
  const p = spawn(process.execPath, [
    CLI, "sidecar", `--prometheus.url=${promUrl}`, `--tsdb.path=${join(dir, "tsdb")}`, `--objstore.config-file=${join(dir, "bucket.yml")}`,
    "--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
  ], { stdio: "ignore" });
  cleanups.push(() => (p.exitCode === null ? p.kill("SIGKILL") : undefined));
  return p;
}

describe.runIf(existsSync(CLI))("sidecar killed mid-upload", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "meridian-sidecar-crash-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await cp(join(FIXTURE, OLD), join(dir, "tsdb", OLD), { recursive: true });
    await cp(join(FIXTURE, NEW), join(dir, "tsdb", NEW), { recursive: true });
    await writeFile(join(dir, "prometheus.yml"), "global:\n  external_labels:\n    cluster: crash\n    replica: a\nscrape_configs: []\n");
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const prom = spawn("/usr/bin/prometheus", [
      `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=100y", "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h",
    ], { stdio: "ignore" });
    cleanups.push(() => (prom.exitCode === null ? prom.kill("SIGKILL") : undefined));
    for (let i = 0; i < 300 && !(await fetch(`${promUrl}/-/ready`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 100));

    s3 = await startS3rver(["blocks"]);
    cleanups.push(() => s3.stop());
    bucket = createS3Bucket(s3.config("blocks"));
    cleanups.push(() => bucket.close());
    // Forwards to s3rver, except the held upload, which never completes.
    const proxy = http.createServer((req, res) => {
      if (holdIndexOf && req.method === "PUT" && req.url?.includes(`${holdIndexOf}/index`)) {
        req.resume();
        onHeld?.();
        return;
      }
      const up = http.request({ host: "127.0.0.1", port: s3.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => { proxy.closeAllConnections(); proxy.close(() => r()); }));
    proxyPort = (proxy.address() as AddressInfo).port;
    await writeFile(
      join(dir, "bucket.yml"),
      `type: S3\nconfig:\n  bucket: blocks\n  endpoint: 127.0.0.1:${proxyPort}\n  insecure: true\n  region: us-east-1\n  access_key: S3RVER\n  secret_key: S3RVER\n`,
    );
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("leaves the half-uploaded block without meta.json, and the restart completes it", async () => {
    holdIndexOf = NEW;
    const held = new Promise<void>((r) => (onHeld = r));
    const first = startSidecar();
    await held;
    const exited = new Promise((r) => first.once("exit", r));
    first.kill("SIGKILL");
    await exited;

    // The older block is complete; the newer one has its chunks but no meta.json.
    expect(await bucket.exists(`${OLD}/meta.json`)).toBe(true);
    expect(await bucket.exists(`${NEW}/chunks/000001`)).toBe(true);
    expect(await bucket.exists(`${NEW}/index`)).toBe(false);
    expect(await bucket.exists(`${NEW}/meta.json`)).toBe(false);
    expect(JSON.parse(await readFile(join(dir, "tsdb", "thanos.shipper.json"), "utf8")).uploaded).toEqual([OLD]);

    holdIndexOf = undefined;
    const second = startSidecar();
    try {
      for (let i = 0; i < 600 && !(await bucket.exists(`${NEW}/meta.json`)); i++) await new Promise((r) => setTimeout(r, 100));
      const meta = parseBlockMeta(new TextDecoder().decode(await bucket.get(`${NEW}/meta.json`)), NEW);
      expect(meta.thanos?.labels).toEqual({ cluster: "crash", replica: "a" });
      const index = await bucket.get(`${NEW}/index`);
      expect(Buffer.from(index).equals(await readFile(join(dir, "tsdb", NEW, "index")))).toBe(true);
      for (const f of meta.thanos!.files!) {
        if (f.size_bytes !== undefined) expect((await bucket.attributes(`${NEW}/${f.rel_path}`)).size).toBe(f.size_bytes);
      }
      for (let i = 0; i < 100; i++) {
        const state = JSON.parse(await readFile(join(dir, "tsdb", "thanos.shipper.json"), "utf8")) as { uploaded: string[] };
        if (state.uploaded.includes(NEW)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(JSON.parse(await readFile(join(dir, "tsdb", "thanos.shipper.json"), "utf8")).uploaded).toEqual([OLD, NEW]);
    } finally {
      const exited2 = new Promise((r) => second.once("exit", r));
      second.kill("SIGTERM");
      expect(await exited2).toBe(0);
    }
  }, 90_000);
});
