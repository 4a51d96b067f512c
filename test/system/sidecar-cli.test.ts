/**
 * `meridian sidecar` (the built Node CLI) refuses to run in the two fatal configurations Thanos
 * refuses: a Prometheus without external labels, and uploads enabled while Prometheus compacts
 * locally (min ≠ max block duration). Needs `npm run build` (test:system runs it first).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const CLI = join(process.cwd(), "dist/src/runtime/node/cli.js");
const procs: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startPrometheus(config: string, extra: string[] = []): Promise<{ url: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "meridian-sidecar-cli-"));
  dirs.push(dir);
  await writeFile(join(dir, "prometheus.yml"), config);
  const port = await freePort();
  const p = spawn("/usr/bin/prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`, ...extra], { stdio: "ignore" });
  procs.push(p);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) return { url, dir };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("Prometheus did not start");
}

function runCli(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "sidecar", "--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0", ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

describe.runIf(existsSync(CLI))("meridian sidecar CLI", () => {
  it("exits 1 explaining why external labels are required when Prometheus has none", async () => {
    const { url } = await startPrometheus("global:\n  scrape_interval: 15s\nscrape_configs: []\n");
    const r = runCli([`--prometheus.url=${url}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no external labels configured on Prometheus server/);
    expect(r.stderr).toMatch(/uniquely identifying external labels must be configured/);
  });

  it("refuses to upload while Prometheus compacts locally, naming the flags to change", async () => {
    const { url, dir } = await startPrometheus("global:\n  external_labels:\n    replica: a\nscrape_configs: []\n", ["--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=6h"]);
    await writeFile(join(dir, "bucket.yml"), `type: FILESYSTEM\nconfig:\n  directory: ${join(dir, "bucket")}\n`);
    const r = runCli([`--prometheus.url=${url}`, `--tsdb.path=${join(dir, "tsdb")}`, `--objstore.config-file=${join(dir, "bucket.yml")}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Compaction needs to be disabled/);
    expect(r.stderr).toMatch(/--storage.tsdb.min-block-duration and --storage.tsdb.max-block-duration/);
  });
});
