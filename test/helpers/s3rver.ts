/**
 * Starts s3rver for tests in a child Node process with `--openssl-legacy-provider` (s3rver's
 * ListObjectsV2 continuation tokens need the legacy DES cipher), listening on 127.0.0.1:0.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { S3BucketConfig } from "../../src/objstore/s3-bucket.ts";

/** A running s3rver. */
export interface S3rverHandle {
  /** `127.0.0.1:<port>` (Thanos-style endpoint, use with insecure: true). */
  readonly endpoint: string;
  readonly port: number;
  /** Directory s3rver stores objects in. */
  readonly directory: string;
  /** Bucket config for `createS3Bucket` pointing at `bucket`. */
  config(bucket: string, extra?: Partial<S3BucketConfig>): S3BucketConfig;
  /** Thanos YAML for `bucket`. */
  yaml(bucket: string): string;
  /** Kills the child and removes its directory. */
  stop(): Promise<void>;
}

const packageRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));

const CHILD = `
import S3rver from "s3rver";
const [directory, buckets] = [process.argv[1], JSON.parse(process.argv[2])];
const server = new S3rver({ address: "127.0.0.1", port: 0, directory, silent: true,
  configureBuckets: buckets.map((name) => ({ name })) });
const { port } = await server.run();
process.stdout.write(JSON.stringify({ port }) + "\\n");
process.stdin.on("end", () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

/** Starts s3rver with the given buckets created. */
export async function startS3rver(buckets: readonly string[] = ["test"]): Promise<S3rverHandle> {
  const directory = mkdtempSync(join(tmpdir(), "meridian-s3rver-"));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--openssl-legacy-provider", "--input-type=module", "-e", CHILD, directory, JSON.stringify(buckets)],
    { cwd: packageRoot, stdio: ["pipe", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolvePort, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolvePort((JSON.parse(buf.slice(0, nl)) as { port: number }).port);
    });
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.once("error", reject);
  });
  const endpoint = `127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    directory,
    config: (bucket, extra = {}) => ({ bucket, endpoint, insecure: true, region: "us-east-1", accessKey: "S3RVER", secretKey: "S3RVER", ...extra }),
    yaml: (bucket) =>
      `type: S3\nconfig:\n  bucket: ${bucket}\n  endpoint: ${endpoint}\n  insecure: true\n  region: us-east-1\n  access_key: S3RVER\n  secret_key: S3RVER\n`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.stdin!.end();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
