/**
 * A {@link Bucket} over the S3 REST API with nothing but `fetch` and Web Crypto (SigV4 signing,
 * ListObjectsV2 parsed without DOMParser), for the Worker: `@aws-sdk/client-s3`'s browser build
 * needs DOMParser, which workerd lacks. Covers what the store gateway needs plus uploads/deletes for
 * the Bucket contract; works against AWS S3, R2's S3 endpoint, MinIO and s3rver.
 */
import { bodyToBytes, compareKeys, normalizeDir, ObjectNotFoundError, validateObjectName, validateRange, type Bucket } from "../../objstore/bucket.ts";
import type { S3BucketConfig } from "../../objstore/s3-bucket.ts";

const enc = new TextEncoder();
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(data: Uint8Array | string): Promise<string> {
  // Typed arrays here are always backed by an ArrayBuffer (never shared memory).
  return hex(await crypto.subtle.digest("SHA-256", (typeof data === "string" ? enc.encode(data) : data) as Uint8Array<ArrayBuffer>));
}

async function hmac(key: Uint8Array<ArrayBuffer> | ArrayBuffer, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(data));
}

/** RFC 3986 encoding as SigV4 wants it (`encodeURIComponent` plus `!'()*`). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** What {@link signV4} signs. */
export interface SignInput {
  readonly method: string;
  readonly url: URL;
  /** Extra headers to sign and send (e.g. `range`), lower- or mixed-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body. */
  readonly payloadHash: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly sessionToken?: string;
  readonly region: string;
  readonly date: Date;
}

/** Signs an S3 request with AWS Signature Version 4; returns every header to send (host excluded). */
export async function signV4(input: SignInput): Promise<Record<string, string>> {
  const amzDate = input.date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers)) headers[k.toLowerCase()] = v;
  headers["x-amz-date"] = amzDate;
  headers["x-amz-content-sha256"] = input.payloadHash;
  if (input.sessionToken) headers["x-amz-security-token"] = input.sessionToken;
  const signed: Record<string, string> = { ...headers, host: input.url.host };
  const names = Object.keys(signed).sort();
  const canonicalHeaders = names.map((n) => `${n}:${signed[n]!.trim().replace(/\s+/g, " ")}\n`).join("");
  const query = [...input.url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  // The path is already URI-encoded per segment (S3 does not double-encode).
  const canonicalRequest = [input.method, input.url.pathname, query, canonicalHeaders, names.join(";"), input.payloadHash].join("\n");
  const scope = `${day}/${input.region}/s3/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonicalRequest)].join("\n");
  let key: ArrayBuffer = await hmac(enc.encode(`AWS4${input.secretKey}`), day);
  for (const part of [input.region, "s3", "aws4_request"]) key = await hmac(key, part);
  const signature = hex(await hmac(key, stringToSign));
  headers["authorization"] = `AWS4-HMAC-SHA256 Credential=${input.accessKey}/${scope},SignedHeaders=${names.join(";")},Signature=${signature}`;
  return headers;
}

function xmlText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === "lt") return "<";
    if (e === "gt") return ">";
    if (e === "amp") return "&";
    if (e === "quot") return '"';
    if (e === "apos") return "'";
    return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** Keys, common prefixes and continuation of one ListObjectsV2 page. */
export function parseListObjectsV2(xml: string): { keys: string[]; prefixes: string[]; next: string | undefined } {
  const inner = (block: string, tag: string): string | undefined => {
    const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(block);
    return m ? xmlText(m[1]!) : undefined;
  };
  const keys = [...xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map((m) => inner(m[1]!, "Key")!).filter((k) => k !== undefined);
  const prefixes = [...xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)].map((m) => inner(m[1]!, "Prefix")!).filter((p) => p !== undefined);
  const truncated = inner(xml, "IsTruncated") === "true";
  return { keys, prefixes, next: truncated ? inner(xml, "NextContinuationToken") : undefined };
}

/** Options of {@link createFetchS3Bucket}. */
export interface FetchS3BucketOptions {
  /** Does the requests (the Worker passes its connection limiter's fetch). */
  readonly fetch?: typeof fetch;
  /** Clock for signing (tests). */
  readonly now?: () => Date;
}

/** Creates the bucket; `config.prefix` is not applied here (wrap with `withPrefix`). */
export function createFetchS3Bucket(config: S3BucketConfig, opts: FetchS3BucketOptions = {}): Bucket {
  const doFetch = opts.fetch ?? ((i: RequestInfo | URL, r?: RequestInit) => globalThis.fetch(i, r));
  const now = opts.now ?? (() => new Date());
  const base = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(config.endpoint) ? config.endpoint : `${config.insecure ? "http" : "https"}://${config.endpoint}`);
  const virtual = config.bucketLookupType === "virtual-hosted" || ((config.bucketLookupType ?? "auto") === "auto" && base.hostname.endsWith("amazonaws.com"));
  const name = config.bucket;
  const region = config.region || "us-east-1";
  const pageSize = config.listPageSize ?? 1000;

  function url(key: string, query: Record<string, string> = {}): URL {
    const path = key.split("/").map(uriEncode).join("/");
    const u = new URL(base.href);
    if (virtual) u.hostname = `${name}.${base.hostname}`;
    u.pathname = virtual ? `/${path}` : `/${uriEncode(name)}/${path}`;
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u;
  }

  async function request(method: string, u: URL, headers: Record<string, string> = {}, body?: Uint8Array): Promise<Response> {
    const payloadHash = body && body.length > 0 ? await sha256Hex(body) : EMPTY_SHA256;
    const all = config.accessKey && config.secretKey
      ? await signV4({ method, url: u, headers, payloadHash, accessKey: config.accessKey, secretKey: config.secretKey, ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}), region, date: now() })
      : headers;
    return doFetch(u, { method, headers: all, ...(body ? { body: body as Uint8Array<ArrayBuffer> } : {}) });
  }

  async function fail(res: Response, op: string, key: string): Promise<never> {
    const text = await res.text().catch(() => "");
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? "";
    throw new Error(`${name}: ${op} ${key}: HTTP ${res.status}${code ? ` ${code}` : ""}`);
  }

  async function head(key: string): Promise<Response> {
    const res = await request("HEAD", url(key));
    if (res.status === 404) throw new ObjectNotFoundError(name, key);
    if (!res.ok) return fail(res, "HEAD", key);
    return res;
  }

  return {
    name,
    async get(key) {
      const res = await request("GET", url(key));
      if (res.status === 404) {
        await res.body?.cancel();
        throw new ObjectNotFoundError(name, key);
      }
      if (!res.ok) return fail(res, "GET", key);
      return new Uint8Array(await res.arrayBuffer());
    },
    async getRange(key, offset, length) {
      validateRange(name, key, offset, length);
      if (length === 0) {
        await head(key);
        return new Uint8Array(0);
      }
      const res = await request("GET", url(key), { range: `bytes=${offset}-${offset + length - 1}` });
      if (res.status === 404) {
        await res.body?.cancel();
        throw new ObjectNotFoundError(name, key);
      }
      if (res.status === 416) {
        await res.body?.cancel();
        return new Uint8Array(0);
      }
      if (!res.ok) return fail(res, "GET range", key);
      const bytes = new Uint8Array(await res.arrayBuffer());
      // A server ignoring Range (200 with the whole object) still gives the right slice.
      if (res.status === 200 && bytes.length > length) return bytes.slice(offset, offset + length);
      return bytes.length > length ? bytes.subarray(0, length) : bytes;
    },
    async exists(key) {
      const res = await request("HEAD", url(key));
      if (res.status === 404) return false;
      if (!res.ok) return fail(res, "HEAD", key);
      return true;
    },
    async iter(dir, fn, iterOpts) {
      const prefix = normalizeDir(dir);
      const names: string[] = [];
      let token: string | undefined;
      do {
        const q: Record<string, string> = { "list-type": "2", prefix, "max-keys": String(pageSize) };
        if (!iterOpts?.recursive) q["delimiter"] = "/";
        if (token !== undefined) q["continuation-token"] = token;
        const u = url("", q);
        // Bucket root: `/bucket` (path style) or `/` (virtual-hosted).
        u.pathname = virtual ? "/" : `/${uriEncode(name)}`;
        const res = await request("GET", u);
        if (!res.ok) return fail(res, "LIST", prefix);
        const page = parseListObjectsV2(await res.text());
        names.push(...page.keys, ...(iterOpts?.recursive ? [] : page.prefixes));
        token = page.next;
      } while (token !== undefined);
      names.sort(compareKeys);
      for (const n of names) await fn(n);
    },
    async upload(key, body) {
      validateObjectName(name, key);
      const bytes = await bodyToBytes(body);
      const res = await request("PUT", url(key), {}, bytes);
      if (!res.ok) return fail(res, "PUT", key);
      await res.body?.cancel();
    },
    async delete(key) {
      await (await head(key)).body?.cancel();
      const res = await request("DELETE", url(key));
      if (!res.ok && res.status !== 204) return fail(res, "DELETE", key);
      await res.body?.cancel();
    },
    async attributes(key) {
      const res = await head(key);
      await res.body?.cancel();
      return { size: Number(res.headers.get("content-length") ?? 0), lastModified: new Date(res.headers.get("last-modified") ?? 0) };
    },
    async close() {},
  };
}
