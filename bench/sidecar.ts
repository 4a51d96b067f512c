/**
 * Sidecar Series throughput: 10,000 series × 1 h (15 s scrape interval, 2.4 M samples) read
 * through the sidecar (native gRPC, the sidecar in its own process) versus Prometheus' remote read
 * called directly. Uses Debian's Prometheus over a generated block when /usr/bin/prometheus exists,
 * else a loopback HTTP server serving recorded remote-read frames. Prints samples/s for both, the
 * ratio, CPU per call, and memory figures (see "Memory" below).
 *
 * Fairness: both paths send the same remote-read request (snappy, no gzip), both clients decode
 * every message fully with protobuf-es, and the gRPC clients use the flow-control windows of
 * Meridian's querier. Three warm-up reads of each path (a sidecar runs for weeks: its first
 * calls pay JIT compilation and young-generation growth, ~2x the CPU of later ones), then
 * `--runs` interleaved runs (direct, sidecar, sidecar, direct, ...) so both see the same machine
 * load; throughput figures are medians
 * (`..._best_runs` compares the fastest runs). Also prints the CPU time the sidecar process spends
 * per Series call and the client's CPU per call on either path (steadier than wall time on a
 * shared machine).
 *
 * Memory. The target "peak memory under 2× the largest single frame" cannot be read as RSS: the
 * Node runtime alone is ~40 MB and RSS mostly measures garbage not yet collected. What streaming
 * bounds is what the sidecar itself holds, so the bench reports, from the sidecar's own gauges
 * (`meridian_sidecar_*`, sampled by the store API after each remote-read frame it decodes):
 * - `sidecar_stream_buffer_peak`: most bytes one Series call held in the sidecar's buffers: the
 *   incomplete remote-read frame carried between network reads, the decoder's chunk arena (chunks
 *   of series not yet framed, which includes the re-sorter's held-back series, plus spare
 *   blocks), the response frame being filled, and response frames built but not yet taken by the
 *   gRPC server. Not included: the HTTP client's fixed 128 KiB read buffer, the one frame the
 *   gRPC server is writing (it waits for each write to drain before taking the next), and the
 *   server's pool of written frame buffers awaiting reuse (process-wide, bounded by the server;
 *   a streaming call keeps a handful of frames cycling through it);
 * - next to it the largest remote-read frame and the largest response frame (a SeriesBatch of 64
 *   series, what the querier asks for), and the peak divided by the largest response frame;
 * - the same peak for a Series call over a tenth of the series (`..._tenth`): streaming shows as
 *   a peak that does not grow with the number of series.
 * `sidecar_retained_heap_max` is what a sidecar run in-process keeps alive while streaming (forced
 * GC every 50 responses, heap growth over idle). RSS figures are printed for reference only.
 *
 * Args: `--series N` (default 10000), `--runs N` (default 5), `--fake` (force the loopback server),
 * `--cpu-prof DIR` (run the sidecar with `node --cpu-prof`, profiles written to DIR on exit).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ChunkedReadResponseSchema, ReadRequest_ResponseType } from "../src/gen/prompb/remote_pb.ts";
import { SeriesRequestSchema, SeriesResponseSchema, Store, type SeriesRequest, type SeriesResponse } from "../src/gen/store/storepb/rpc_pb.ts";
import { LabelMatcher_Type } from "../src/gen/store/storepb/types_pb.ts";
import { concatBytes } from "../src/model/bytes.ts";
import { labelsFromRecord } from "../src/model/labels.ts";
import { createMatcher } from "../src/model/matcher.ts";
import type { FloatSeries } from "../src/model/series.ts";
import { STORE_CLIENT_WINDOW_BYTES, WideWindowSessionManager } from "../src/runtime/node/store-transport.ts";
import { writeBlockDir } from "../src/runtime/node/write-block-dir.ts";
import { encodeReadRequest } from "../src/sidecar/read-request.ts";
import { STREAMED_CONTENT_TYPE } from "../src/sidecar/remote-read.ts";
import { readChunkedFrames } from "../src/sidecar/streamed-frames.ts";
import { createSidecar } from "../src/sidecar/sidecar.ts";
import { createMetricsRegistry } from "../src/server/metrics.ts";
import { writeBlock } from "../src/tsdb/block-writer.ts";
import { crc32c } from "../src/tsdb/crc32c.ts";
import { encodeXorChunk } from "../src/tsdb/xor-encoder.ts";
import { numberFlag } from "./flags.ts";
import { freePort } from "./helpers-procs.ts";
import { report } from "./report.ts";

const HOUR = 3_600_000;

async function waitReady(url: string, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready`);
}

function makeSeries(n: number, start: number): FloatSeries[] {
  const out: FloatSeries[] = [];
  for (let i = 0; i < n; i++) {
    const t = new Float64Array(240);
    const v = new Float64Array(240);
    let acc = i;
    for (let k = 0; k < 240; k++) {
      t[k] = start + k * 15_000 + (i % 1000);
      acc += (k * 7 + i) % 13;
      v[k] = k % 3 === 0 ? acc : acc + 0.25;
    }
    out.push({ labels: labelsFromRecord({ __name__: "bench_metric", instance: `i-${String(i).padStart(5, "0")}`, job: "bench" }), t, v });
  }
  return out;
}

/** Remote-read frames of `series` as Prometheus would stream them (one series per frame). */
function recordFrames(series: FloatSeries[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const s of series) {
    const chunks = [];
    for (let i = 0; i < s.t.length; i += 120) {
      const j = Math.min(s.t.length, i + 120);
      chunks.push({ minTimeMs: BigInt(s.t[i]!), maxTimeMs: BigInt(s.t[j - 1]!), type: 1, data: encodeXorChunk(s.t, s.v, i, j) });
    }
    const msg = toBinary(ChunkedReadResponseSchema, create(ChunkedReadResponseSchema, { chunkedSeries: [{ labels: s.labels.map((l) => ({ name: l.name, value: l.value })), chunks }] }));
    const head: number[] = [];
    let n = msg.length;
    while (n >= 0x80) {
      head.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    head.push(n);
    const frame = new Uint8Array(head.length + 4 + msg.length);
    frame.set(head);
    new DataView(frame.buffer).setUint32(head.length, crc32c(msg));
    frame.set(msg, head.length + 4);
    parts.push(frame);
    total += frame.length;
  }
  return concatBytes(parts, total);
}

/** A loopback stand-in for Prometheus: the endpoints the sidecar calls, remote read from recorded frames. */
async function startFakePrometheus(frames: Uint8Array, lowest: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path === "/api/v1/read") {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "Content-Type": STREAMED_CONTENT_TYPE });
        // Stream in 64 KiB writes, as a real server flushes frames.
        let i = 0;
        const step = () => {
          while (i < frames.length) {
            const ok = res.write(frames.subarray(i, i + 65536));
            i += 65536;
            if (!ok) return void res.once("drain", step);
          }
          res.end();
        };
        step();
      });
      return;
    }
    const json = (data: unknown) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ status: "success", data }));
    };
    if (path === "/api/v1/status/config") return json({ yaml: "global:\n  external_labels:\n    replica: r0\n    zone: z1\n" });
    if (path === "/api/v1/status/buildinfo") return json({ version: "2.42.0-loopback" });
    if (path === "/metrics") return void res.end(`prometheus_tsdb_lowest_timestamp ${lowest}\n`);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * What the sidecar keeps alive while streaming (RSS mostly measures garbage): runs the StoreAPI
 * in-process and, every 50 responses, forces a GC and records heap growth over the idle baseline.
 */
async function retainedHeap(promUrl: string, start: number, end: number): Promise<number> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const sidecar = createSidecar({ prometheusUrl: promUrl, metrics: createMetricsRegistry(), log: () => {} });
  await sidecar.start();
  try {
    const req = create(SeriesRequestSchema, { minTime: BigInt(start), maxTime: BigInt(end), responseBatchSize: 64n, matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "bench_metric" }] });
    gc();
    const base = process.memoryUsage().heapUsed;
    let max = -Infinity;
    let n = 0;
    for await (const _ of sidecar.storeApi.series(req, new AbortController().signal)) {
      if (++n % 50 === 0) {
        gc();
        max = Math.max(max, process.memoryUsage().heapUsed - base);
      }
    }
    if (n < 50) throw new Error(`retained-heap run got only ${n} responses`);
    return Math.max(0, max);
  } finally {
    await sidecar.stop();
  }
}

/** Calls thanos.Store/Series over a raw HTTP/2 session: gRPC envelopes, every message decoded. */
async function grpcSeries(session: http2.ClientHttp2Session, req: SeriesRequest, onMessage: (m: SeriesResponse) => void): Promise<void> {
  const body = toBinary(SeriesRequestSchema, req);
  const env = new Uint8Array(5 + body.length);
  new DataView(env.buffer).setUint32(1, body.length);
  env.set(body, 5);
  const stream = session.request({ ":method": "POST", ":path": "/thanos.Store/Series", "content-type": "application/grpc+proto", te: "trailers" });
  stream.end(env);
  let buf = new Uint8Array(0);
  let status: string | undefined;
  stream.on("trailers", (t) => (status = String(t["grpc-status"])));
  stream.on("response", (h) => {
    if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
  });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const joined = new Uint8Array(buf.length + chunk.length);
    joined.set(buf);
    joined.set(chunk, buf.length);
    let pos = 0;
    while (joined.length - pos >= 5) {
      const len = new DataView(joined.buffer, joined.byteOffset + pos + 1, 4).getUint32(0);
      if (joined.length - pos - 5 < len) break;
      onMessage(fromBinary(SeriesResponseSchema, joined.subarray(pos + 5, pos + 5 + len)));
      pos += 5 + len;
    }
    buf = joined.subarray(pos);
  }
  if (status !== "0") throw new Error(`Series failed: grpc-status ${status}`);
}

/** User + system CPU time of process `pid` so far, in ms (clock ticks of 10 ms). */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

export default async function (args: string[]): Promise<void> {
  const nSeries = numberFlag(args, "series", 10_000);
  const runs = numberFlag(args, "runs", 5);
  const useReal = existsSync("/usr/bin/prometheus") && !args.includes("--fake");
  const dir = await mkdtemp(join(tmpdir(), "meridian-bench-sidecar-"));
  const children: ChildProcess[] = [];
  let fake: { url: string; close(): Promise<void> } | undefined;
  try {
    const start = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
    const end = start + HOUR;
    const series = makeSeries(nSeries, start);
    let promUrl: string;
    if (useReal) {
      const tsdb = join(dir, "tsdb");
      await mkdir(tsdb, { recursive: true });
      await writeBlockDir(tsdb, writeBlock(series, { minTime: start, maxTime: end }));
      await writeFile(join(dir, "prometheus.yml"), "global:\n  external_labels:\n    replica: r0\n    zone: z1\nscrape_configs: []\n");
      const port = await freePort();
      const prom = spawn("/usr/bin/prometheus", [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${tsdb}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--storage.tsdb.retention.time=100y",
      ], { stdio: "ignore" });
      children.push(prom);
      promUrl = `http://127.0.0.1:${port}`;
      await waitReady(`${promUrl}/-/ready`, "Prometheus");
    } else {
      fake = await startFakePrometheus(recordFrames(series), start);
      promUrl = fake.url;
    }
    console.log(`sidecar bench: ${nSeries} series x 1h (${nSeries * 240} samples) from ${useReal ? "Prometheus 2.42 (/usr/bin/prometheus)" : "loopback server with recorded frames"}`);

    // Direct remote read: fetch, frame parsing with CRC checks and protobuf decoding.
    const readBody = encodeReadRequest([{ start, end, matchers: [createMatcher("=", "__name__", "bench_metric")] }], [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS]);
    let largestFrame = 0;
    const direct = async (): Promise<number> => {
      const res = await fetch(`${promUrl}/api/v1/read`, {
        method: "POST",
        body: readBody as Uint8Array<ArrayBuffer>,
        // Same request headers as the sidecar sends (no gzip: see remote-read.ts).
        headers: { "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf", "X-Prometheus-Remote-Read-Version": "0.1.0", "Accept-Encoding": "identity" },
      });
      let samples = 0;
      for await (const f of readChunkedFrames(res.body!)) {
        largestFrame = Math.max(largestFrame, f.message.length);
        const msg = fromBinary(ChunkedReadResponseSchema, f.message);
        for (const cs of msg.chunkedSeries) for (const c of cs.chunks) samples += (c.data[0]! << 8) | c.data[1]!;
      }
      return samples;
    };

    // Through the sidecar, in its own process, over native gRPC.
    const here = dirname(fileURLToPath(import.meta.url));
    const cli = join(here, "../src/runtime/node/cli.js");
    const grpcPort = await freePort();
    const httpPort = await freePort();
    const profDir = args.includes("--cpu-prof") ? args[args.indexOf("--cpu-prof") + 1]! : undefined;
    const nodeFlags = profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
    const side = spawn(process.execPath, [...nodeFlags, cli, "sidecar", `--prometheus.url=${promUrl}`, `--grpc-address=127.0.0.1:${grpcPort}`, `--http-address=127.0.0.1:${httpPort}`, "--log.level=warn"], { stdio: ["ignore", "inherit", "inherit"] });
    children.push(side);
    await waitReady(`http://127.0.0.1:${httpPort}/-/ready`, "sidecar");
    const req = create(SeriesRequestSchema, {
      minTime: BigInt(start),
      maxTime: BigInt(end),
      // What the querier sends (DefaultResponseBatchSize).
      responseBatchSize: 64n,
      matchers: [{ type: LabelMatcher_Type.EQ, name: "__name__", value: "bench_metric" }],
    });
    const count = (f: SeriesResponse, acc: { samples: number; series: number }) => {
      const list = f.result.case === "series" ? [f.result.value] : f.result.case === "batch" ? f.result.value.series : [];
      for (const s of list) {
        acc.series++;
        for (const c of s.chunks) acc.samples += (c.raw!.data[0]! << 8) | c.raw!.data[1]!;
      }
    };
    const rssBefore = procStatus(side.pid!, "VmRSS");
    // The sidecar's gauges for the last Series call (see the module comment).
    const gauges = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^(meridian_sidecar_[a-z_]+) (\S+)$/gm)) out[m[1]!] = Number(m[2]);
      return out;
    };
    // A minimal gRPC client (HTTP/2 + envelopes + full protobuf decoding of every response), so the
    // figure measures the sidecar rather than a client library.
    // With the flow-control windows Meridian's querier uses (grpc-go grows its windows likewise):
    // HTTP/2's default 64 KiB would measure window-update round trips rather than the sidecar.
    const session = http2.connect(`http://127.0.0.1:${grpcPort}`, { settings: { initialWindowSize: STORE_CLIENT_WINDOW_BYTES } });
    await new Promise<void>((r, j) => session.once("connect", () => r()).once("error", j));
    session.setLocalWindowSize(STORE_CLIENT_WINDOW_BYTES);
    const viaSidecar = async (): Promise<{ samples: number; series: number }> => {
      const acc = { samples: 0, series: 0 };
      await grpcSeries(session, req, (f) => count(f, acc));
      return acc;
    };

    // Warm-ups of each (JIT, Prometheus' page cache), then interleaved runs so both paths see the
    // same machine load; medians are the headline figures (the machine is shared).
    let directSamples = 0;
    for (let i = 0; i < 3; i++) {
      directSamples = await direct();
      await viaSidecar();
    }
    const directMs: number[] = [];
    const sideMs: number[] = [];
    const sideCpuMs: number[] = [];
    const directClientCpuMs: number[] = [];
    const sideClientCpuMs: number[] = [];
    let side_ = { samples: 0, series: 0 };
    for (let r = 0; r < runs; r++) {
      for (const which of r % 2 === 0 ? ["direct", "side"] : ["side", "direct"]) {
        const c0 = process.cpuUsage();
        const s0 = procCpuMs(side.pid!);
        const t0 = performance.now();
        if (which === "direct") {
          directSamples = await direct();
          directMs.push(performance.now() - t0);
          directClientCpuMs.push(cpuMs(process.cpuUsage(c0)));
        } else {
          side_ = await viaSidecar();
          sideMs.push(performance.now() - t0);
          sideClientCpuMs.push(cpuMs(process.cpuUsage(c0)));
          sideCpuMs.push(procCpuMs(side.pid!) - s0);
        }
      }
    }
    const full = await gauges();
    // The same Series over a tenth of the series (instance ending in 0): same frames, fewer of them.
    const tenthReq = create(SeriesRequestSchema, {
      minTime: req.minTime,
      maxTime: req.maxTime,
      responseBatchSize: req.responseBatchSize,
      matchers: [
        { type: LabelMatcher_Type.EQ, name: "__name__", value: "bench_metric" },
        { type: LabelMatcher_Type.RE, name: "instance", value: ".*0" },
      ],
    });
    const tenth = { samples: 0, series: 0 };
    await grpcSeries(session, tenthReq, (f) => count(f, tenth));
    const tenthGauges = await gauges();
    session.close();
    // The same through connect-node's gRPC client (what Meridian's querier uses), for reference.
    // Set up as Meridian's querier dials stores (store-transport.ts): wide windows, no gzip offered.
    const sessionManager = new WideWindowSessionManager(`http://127.0.0.1:${grpcPort}`);
    const client = createClient(Store, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}`, sessionManager, acceptCompression: [] }));
    const connectMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const acc = { samples: 0, series: 0 };
      for await (const f of client.series(req)) count(f, acc);
      connectMs.push(performance.now() - t0);
    }
    sessionManager.abort();
    const sideSamples = side_.samples;
    const sideSeries = side_.series;
    if (sideSamples !== directSamples || sideSeries !== nSeries) {
      throw new Error(`sidecar returned ${sideSeries} series / ${sideSamples} samples, direct read ${directSamples} samples`);
    }
    const directRate = directSamples / (median(directMs) / 1000);
    const sideRate = sideSamples / (median(sideMs) / 1000);
    const peak = procStatus(side.pid!, "VmHWM");
    console.log(`direct ms: ${directMs.map((x) => x.toFixed(0)).join(" ")}; sidecar ms: ${sideMs.map((x) => x.toFixed(0)).join(" ")}; sidecar cpu ms: ${sideCpuMs.join(" ")}`);
    report("sidecar_direct_remote_read_throughput", Math.round(directRate), "samples/s");
    report("sidecar_series_grpc_throughput", Math.round(sideRate), "samples/s");
    report("sidecar_throughput_ratio", sideRate / directRate, "ratio");
    report("sidecar_throughput_ratio_best_runs", Math.min(...directMs) / Math.min(...sideMs), "ratio");
    report("sidecar_series_connect_node_client_throughput", Math.round(sideSamples / (median(connectMs) / 1000)), "samples/s");
    report("sidecar_process_cpu_per_series_call", median(sideCpuMs), "ms");
    report("sidecar_direct_client_cpu_per_read", Math.round(median(directClientCpuMs)), "ms");
    report("sidecar_grpc_client_cpu_per_series_call", Math.round(median(sideClientCpuMs)), "ms");
    report("sidecar_largest_frame", largestFrame, "bytes");
    const peakBuffered = full["meridian_sidecar_series_buffered_bytes_peak"] ?? NaN;
    const largestResponse = full["meridian_sidecar_series_largest_response_bytes"] ?? NaN;
    report("sidecar_largest_response_frame", largestResponse, "bytes");
    report("sidecar_stream_buffer_peak", peakBuffered, "bytes");
    report("sidecar_stream_buffer_peak_per_largest_response_frame", peakBuffered / largestResponse, "ratio");
    // (The loopback stand-in ignores matchers: there the "tenth" call gets every series.)
    if (tenth.series < nSeries) {
      report("sidecar_stream_buffer_peak_tenth", tenthGauges["meridian_sidecar_series_buffered_bytes_peak"] ?? NaN, "bytes");
      report("sidecar_stream_buffer_peak_tenth_series", tenth.series, "series");
    }
    report("sidecar_peak_rss", peak, "bytes");
    report("sidecar_rss_growth_during_series", Math.max(0, peak - rssBefore), "bytes");
    report("sidecar_retained_heap_max", await retainedHeap(promUrl, start, end), "bytes");
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
    await fake?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
