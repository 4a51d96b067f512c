/**
 * TLS on Node servers through the real CLI (`dist/`, built by `npm run test:system`): a self-signed
 * certificate made with `openssl`, `meridian store` and `meridian query` started with
 * `--http.tls-cert-file/--http.tls-key-file` and `--grpc-server-tls-cert/--grpc-server-tls-key` plus
 * bearer tokens. Clients trust the certificate explicitly; the querier reaches the store over
 * Connect on https with the token from its SD file. Also: cleartext clients fail against the TLS
 * ports, a half-configured TLS flag pair is refused, and the Deno store serves HTTPS.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Info } from "../../src/gen/info/infopb/rpc_pb.ts";
import { Store } from "../../src/gen/store/storepb/rpc_pb.ts";
import { createFilesystemBucket } from "../../src/runtime/node/filesystem-bucket.ts";
import { uploadFixtureGroup } from "../helpers/s3rver-store.ts";
import { findBinary, freePort } from "./helpers/promtool.ts";

const root = process.cwd();
const CLI = join(root, "dist/src/runtime/node/cli.js");
const STORE_TOKEN = "tls-store-token";
const QUERY_TOKEN = "tls-query-token";
let dir: string;
let ca: Buffer;
const children: ChildProcess[] = [];
let store: { http: number; grpc: number };
let query: { http: number; grpc: number };

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; ports: Promise<{ http: number; grpc: number }>; stderr: () => string } {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "ignore", "pipe"] });
  children.push(child);
  let stderr = "";
  const ports = new Promise<{ http: number; grpc: number }>((resolve, reject) => {
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString();
      const m = /listening: http port (\d+), grpc port (\d+)/.exec(stderr) ?? /listening: https 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve({ http: Number(m[1]), grpc: Number(m[2] ?? 0) });
    });
    child.once("exit", (code) => reject(new Error(`${args[1] ?? cmd} exited with ${code}:\n${stderr}`)));
  });
  return { child, ports, stderr: () => stderr };
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path, headers, ca }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
  });
}

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const bearer = (token: string | undefined): Interceptor[] =>
  token === undefined ? [] : [(next) => (req) => { req.header.set("authorization", `Bearer ${token}`); return next(req); }];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-tls-"));
  const gen = spawnSync("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ], { encoding: "utf8" });
  if (gen.status !== 0) throw new Error(`openssl failed: ${gen.stderr}`);
  ca = readFileSync(join(dir, "cert.pem"));
  const bucketDir = join(dir, "bucket");
  await uploadFixtureGroup(createFilesystemBucket(bucketDir), "promtool-openmetrics-2.42", { region: "eu" });
  writeFileSync(join(dir, "store-token"), STORE_TOKEN);
  writeFileSync(join(dir, "query-token"), QUERY_TOKEN);
  const tls = [
    `--http.tls-cert-file=${join(dir, "cert.pem")}`, `--http.tls-key-file=${join(dir, "key.pem")}`,
    `--grpc-server-tls-cert=${join(dir, "cert.pem")}`, `--grpc-server-tls-key=${join(dir, "key.pem")}`,
  ];
  const s = start(process.execPath, [CLI, "store", "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0", ...tls,
    `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}`, `--data-dir=${join(dir, "data")}`, `--http.bearer-token-file=${join(dir, "store-token")}`]);
  store = await s.ports;
  await until("store ready over https", async () => (await get(store.http, "/-/ready")).status === 200);
  writeFileSync(join(dir, "endpoints.yaml"), `endpoints:\n  - address: https://127.0.0.1:${store.http}\n    bearer_token: ${STORE_TOKEN}\n`);
  // The querier's fetch trusts the self-signed certificate through NODE_EXTRA_CA_CERTS.
  const q = start(process.execPath, [CLI, "query", "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0", ...tls,
    `--endpoint.sd-config-file=${join(dir, "endpoints.yaml")}`, `--http.bearer-token-file=${join(dir, "query-token")}`], { NODE_EXTRA_CA_CERTS: join(dir, "cert.pem") });
  query = await q.ports;
  await until("querier sees the store as healthy", async () => (await get(query.http, "/api/v1/stores", { authorization: `Bearer ${QUERY_TOKEN}` })).body.includes('"health":"healthy"'));
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      await exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("TLS on Node servers (CLI flags)", () => {
  it("querier: PromQL over HTTPS with the token, 401 without; data comes from the store over Connect+TLS", async () => {
    const path = `/api/v1/query?query=${encodeURIComponent("count(demo_gauge)")}&time=1700003000`;
    const ok = await get(query.http, path, { authorization: `Bearer ${QUERY_TOKEN}` });
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body) as { data: { result: { value: [number, string] }[] } };
    expect(Number(body.data.result[0]!.value[1])).toBeGreaterThan(0);
    const variants: Record<string, string>[] = [{}, { authorization: "Bearer wrong" }, { authorization: `Bearer ${STORE_TOKEN}` }];
    for (const headers of variants) {
      const res = await get(query.http, path, headers);
      expect(res.status).toBe(401);
      expect(res.body).toBe("unauthenticated\n");
    }
  });

  for (const [name, which] of [["store", () => store], ["querier", () => query]] as const) {
    const token = name === "store" ? STORE_TOKEN : QUERY_TOKEN;
    it(`${name}: StoreAPI over Connect, gRPC-Web (https) and native gRPC (TLS) with the token; Unauthenticated without or wrong`, async () => {
      const make = (proto: string, t: string | undefined) => {
        const interceptors = bearer(t);
        if (proto === "grpc") return createGrpcTransport({ baseUrl: `https://127.0.0.1:${which().grpc}`, nodeOptions: { ca }, interceptors });
        const base = { baseUrl: `https://127.0.0.1:${which().http}`, httpVersion: "1.1" as const, nodeOptions: { ca }, interceptors };
        return proto === "connect" ? createConnectTransport(base) : createGrpcWebTransport(base);
      };
      for (const proto of ["connect", "grpc-web", "grpc"]) {
        const names = await createClient(Store, make(proto, token)).labelNames({});
        expect(names.names, proto).toContain("region");
        for (const t of [undefined, "wrong"]) {
          const err = await createClient(Store, make(proto, t)).labelNames({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
          expect(err?.code, `${proto} ${t}`).toBe(Code.Unauthenticated);
        }
      }
    });
  }

  it("cleartext clients cannot talk to the TLS ports, and untrusted certificates are refused", async () => {
    const h2c = await createClient(Store, createGrpcTransport({ baseUrl: `http://127.0.0.1:${store.grpc}`, interceptors: bearer(STORE_TOKEN) }))
      .labelNames({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(h2c).toBeDefined();
    await expect(fetch(`http://127.0.0.1:${store.http}/-/ready`)).rejects.toThrow();
    // Node's fetch does not know the self-signed CA.
    await expect(fetch(`https://127.0.0.1:${store.http}/-/ready`)).rejects.toThrow();
  });

  it("refuses a certificate without its key (exit 1, names both flags)", () => {
    const r = spawnSync(process.execPath, [CLI, "store", "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0",
      `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${join(dir, "bucket")}`, `--data-dir=${join(dir, "data2")}`,
      `--grpc-server-tls-cert=${join(dir, "cert.pem")}`], { encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("--grpc-server-tls-cert needs --grpc-server-tls-key");
  });

  it.skipIf(!findBinary("prometheus"))("sidecar: Info over gRPC+TLS and Connect over HTTPS with the token", async () => {
    // The sidecar needs external labels from Prometheus before it is ready.
    mkdirSync(join(dir, "prom"), { recursive: true });
    writeFileSync(join(dir, "prometheus.yml"), "global:\n  external_labels: {cluster: tls, replica: r0}\nscrape_configs: []\n");
    const promPort = await freePort();
    const prom = start(findBinary("prometheus")!, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "prom")}`, `--web.listen-address=127.0.0.1:${promPort}`]);
    prom.ports.catch(() => undefined); // Prometheus logs no Meridian "listening" line
    const promUrl = `http://127.0.0.1:${promPort}`;
    await until("prometheus ready", async () => (await fetch(`${promUrl}/-/ready`)).ok);
    try {
      writeFileSync(join(dir, "sidecar-token"), STORE_TOKEN);
      const sc = start(process.execPath, [CLI, "sidecar", "--http-address=127.0.0.1:0", "--grpc-address=127.0.0.1:0", `--prometheus.url=${promUrl}`,
        `--http.tls-cert-file=${join(dir, "cert.pem")}`, `--http.tls-key-file=${join(dir, "key.pem")}`,
        `--grpc-server-tls-cert=${join(dir, "cert.pem")}`, `--grpc-server-tls-key=${join(dir, "key.pem")}`,
        `--http.bearer-token-file=${join(dir, "sidecar-token")}`]);
      const ports = await sc.ports;
      await until("sidecar ready over https", async () => (await get(ports.http, "/-/ready")).status === 200);
      const grpc = createClient(Info, createGrpcTransport({ baseUrl: `https://127.0.0.1:${ports.grpc}`, nodeOptions: { ca }, interceptors: bearer(STORE_TOKEN) }));
      expect((await grpc.info({})).ComponentType).toBe("sidecar");
      const connect = createClient(Info, createConnectTransport({ baseUrl: `https://127.0.0.1:${ports.http}`, httpVersion: "1.1", nodeOptions: { ca }, interceptors: bearer(STORE_TOKEN) }));
      expect((await connect.info({})).ComponentType).toBe("sidecar");
      const denied = await createClient(Info, createGrpcTransport({ baseUrl: `https://127.0.0.1:${ports.grpc}`, nodeOptions: { ca } })).info({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(denied?.code).toBe(Code.Unauthenticated);
      const exited = new Promise((r) => sc.child.once("exit", r));
      sc.child.kill("SIGTERM");
      await exited;
    } finally {
      const exited = new Promise((r) => prom.child.once("exit", r));
      prom.child.kill("SIGTERM");
      await exited;
    }
  });

  it("Deno store serves Connect over HTTPS with the same flags", async () => {
    const d = start(join(root, "node_modules/.bin/deno"), ["task", "-q", "store", "--http-address=127.0.0.1:0",
      `--http.tls-cert-file=${join(dir, "cert.pem")}`, `--http.tls-key-file=${join(dir, "key.pem")}`,
      `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${join(dir, "bucket")}`, `--data-dir=${join(dir, "data-deno")}`], { DENO_DIR: join(dir, "deno-dir") });
    const { http } = await d.ports;
    await until("Deno store ready over https", async () => (await get(http, "/-/ready")).status === 200);
    const names = await createClient(Store, createConnectTransport({ baseUrl: `https://127.0.0.1:${http}`, httpVersion: "1.1", nodeOptions: { ca } })).labelNames({});
    expect(names.names).toContain("region");
  });
});
