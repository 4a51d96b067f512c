/**
 * TLS on both listeners: a self-signed certificate made with openssl, the gRPC server over HTTP/2
 * TLS and the HTTP server over HTTPS, called with clients that trust exactly that certificate.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Info } from "../../gen/info/infopb/rpc_pb.ts";
import { createComponentApp } from "../../server/app.ts";
import { createMetricsRegistry } from "../../server/metrics.ts";
import { createTestStore } from "../../server/test-store.ts";
import { startGrpcServer, startHttpServer } from "./serve.ts";

const haveOpenssl = existsSync("/usr/bin/openssl");
if (!haveOpenssl) console.warn("SKIPPED TLS serve tests: openssl not found");

let dir = "";
let certFile = "";
let keyFile = "";

beforeAll(() => {
  if (!haveOpenssl) return;
  dir = mkdtempSync(join(tmpdir(), "meridian-tls-"));
  certFile = join(dir, "cert.pem");
  keyFile = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveOpenssl)("TLS listeners", () => {
  const store = createTestStore({ externalLabels: { cluster: "tls" }, series: [] });

  it("serves native gRPC over HTTP/2 TLS", async () => {
    const server = await startGrpcServer({ address: "127.0.0.1:0", storeApi: store, tls: { certFile, keyFile } });
    const baseUrl = `https://127.0.0.1:${server.port}`;
    const sessionManager = new Http2SessionManager(baseUrl, {}, { ca: readFileSync(certFile) });
    try {
      const info = await createClient(Info, createGrpcTransport({ baseUrl, sessionManager })).info({});
      expect(info.labelSets[0]!.labels[0]!.value).toBe("tls");
      // A client that does not trust the certificate cannot connect.
      const untrusted = createClient(Info, createGrpcTransport({ baseUrl }));
      const err = await untrusted.info({}).catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).rawMessage).toMatch(/certificate/i);
    } finally {
      sessionManager.abort();
      await server.close(1000);
    }
  });

  it("serves Connect over HTTPS", async () => {
    const app = createComponentApp({ storeApi: store, ready: () => true, metrics: createMetricsRegistry() });
    const server = await startHttpServer({ address: "127.0.0.1:0", fetch: app.fetch, tls: { certFile, keyFile } });
    try {
      const transport = createConnectTransport({ baseUrl: `https://127.0.0.1:${server.port}`, httpVersion: "1.1", nodeOptions: { ca: readFileSync(certFile) } });
      const info = await createClient(Info, transport).info({});
      expect(info.ComponentType).toBe("store");
    } finally {
      await server.close(1000);
    }
  });

  it("fails clearly when the certificate file is missing", async () => {
    await expect(startGrpcServer({ address: "127.0.0.1:0", storeApi: store, tls: { certFile: join(dir, "nope.pem"), keyFile } })).rejects.toThrow(/nope\.pem/);
  });
});
