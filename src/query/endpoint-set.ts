/**
 * The querier's set of StoreAPI endpoints: static ones from `--endpoint`, dynamic ones from the SD
 * file, each probed with `thanos.info.Info` on an interval (Thanos: every 5 s with a 5 s timeout).
 * The probe decides health and tells the component type, external label sets and time range that
 * store selection uses. Unhealthy endpoints are left out of queries (unless strict) and shown as
 * such on `/api/v1/stores`.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { InfoResponse } from "../gen/info/infopb/rpc_pb.ts";
import type { Labels } from "../model/labels.ts";
import { labelsFromProto } from "../server/store-api-convert.ts";
import type { EndpointSpec } from "./endpoint-config.ts";
import type { StoreClient } from "./store-client.ts";

/** What the last probe of an endpoint found. */
export interface EndpointStatus {
  readonly address: string;
  readonly protocol: "grpc" | "connect";
  readonly strict: boolean;
  /** Where it was configured. */
  readonly source: "flag" | "file";
  /** `unknown` until the first probe finished. */
  readonly health: "unknown" | "healthy" | "unhealthy";
  /** Message of the last failed probe, or null. */
  readonly lastError: string | null;
  /** Wall-clock ms of the last finished probe, or null. */
  readonly lastCheck: number | null;
  /** `ComponentType` from Info (`sidecar`, `store`, `query`, ...), "" when unknown. */
  readonly componentType: string;
  /** External label sets from Info. */
  readonly labelSets: readonly Labels[];
  /** Store time range (ms, inclusive); unbounded when not known. */
  readonly minTime: number;
  readonly maxTime: number;
  /** The endpoint offers the StoreAPI (Info had a `store` section). */
  readonly hasStoreApi: boolean;
  /** The store strips `without_replica_labels` itself (else the querier does). */
  readonly supportsWithoutReplicaLabels: boolean;
}

/** An endpoint that can be queried. */
export interface Endpoint {
  readonly address: string;
  readonly client: StoreClient;
  readonly status: EndpointStatus;
}

/** Options for {@link createEndpointSet}. */
export interface EndpointSetOptions {
  /** `--endpoint` values (never removed by SD updates). */
  staticEndpoints?: readonly EndpointSpec[];
  /** Makes the client for an endpoint. */
  clientFactory: (spec: EndpointSpec) => StoreClient;
  /** Info deadline per probe; default 5000 ms. */
  infoTimeoutMs?: number;
  /** Probe interval for {@link EndpointSet.start}; default 5000 ms. */
  probeIntervalMs?: number;
  /** Clock for `lastCheck` (tests). */
  now?: () => number;
}

/** The live set of endpoints. */
export interface EndpointSet {
  /** Replaces the file-discovered endpoints; new ones are probed at once, removed ones closed. */
  setDynamic(specs: readonly EndpointSpec[]): Promise<void>;
  /** Probes every endpoint now (concurrently) and resolves when all probes finished. */
  probe(): Promise<void>;
  /** Starts periodic probing (first probe immediately). */
  start(): void;
  /** Stops periodic probing. */
  stop(): void;
  /** Endpoints usable for StoreAPI calls: healthy ones with a StoreAPI, plus strict ones. */
  stores(): Endpoint[];
  /** Status of every configured endpoint, sorted by address. */
  statuses(): EndpointStatus[];
  /** Resolves after the first probe round finished (readiness of the querier). */
  readonly firstProbe: Promise<void>;
  /** Stops probing and closes every client. */
  close(): void;
}

interface Member {
  spec: EndpointSpec;
  source: "flag" | "file";
  client: StoreClient;
  status: EndpointStatus;
  probing: Promise<void> | undefined;
}

function initialStatus(spec: EndpointSpec, source: "flag" | "file", client: StoreClient): EndpointStatus {
  return {
    address: spec.address, protocol: client.target.protocol, strict: spec.strict === true, source,
    health: "unknown", lastError: null, lastCheck: null, componentType: "", labelSets: [],
    minTime: -Infinity, maxTime: Infinity, hasStoreApi: false, supportsWithoutReplicaLabels: false,
  };
}

/** Applies an Info answer to a status. */
export function statusFromInfo(prev: EndpointStatus, info: InfoResponse, now: number): EndpointStatus {
  const store = info.store;
  return {
    ...prev,
    health: "healthy",
    lastError: null,
    lastCheck: now,
    componentType: info.ComponentType,
    labelSets: info.labelSets.map((s) => labelsFromProto(s.labels)),
    minTime: store ? Number(store.minTime) : -Infinity,
    maxTime: store ? Number(store.maxTime) : Infinity,
    hasStoreApi: store !== undefined,
    supportsWithoutReplicaLabels: store?.supportsWithoutReplicaLabels ?? false,
  };
}

/** Creates the endpoint set; call {@link EndpointSet.start} to begin probing. */
export function createEndpointSet(opts: EndpointSetOptions): EndpointSet {
  const infoTimeoutMs = opts.infoTimeoutMs ?? 5000;
  const intervalMs = opts.probeIntervalMs ?? 5000;
  const now = opts.now ?? (() => Date.now());
  const members = new Map<string, Member>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let closed = false;
  let resolveFirst!: () => void;
  const firstProbe = new Promise<void>((r) => { resolveFirst = r; });

  function add(spec: EndpointSpec, source: "flag" | "file"): Member {
    const client = opts.clientFactory(spec);
    const m: Member = { spec, source, client, status: initialStatus(spec, source, client), probing: undefined };
    members.set(spec.address, m);
    return m;
  }

  for (const spec of opts.staticEndpoints ?? []) add(spec, "flag");

  function probeOne(m: Member): Promise<void> {
    if (m.probing) return m.probing;
    m.probing = (async () => {
      try {
        const info = await m.client.info(undefined, infoTimeoutMs);
        m.status = statusFromInfo(m.status, info, now());
      } catch (err) {
        const ce = ConnectError.from(err);
        const reason = ce.code === Code.Unimplemented ? "Info not implemented (endpoint gives no metadata)" : ce.rawMessage || ce.message;
        // Keep the last known label sets and range so a strict endpoint stays selectable.
        m.status = { ...m.status, health: "unhealthy", lastError: `${Code[ce.code] ?? "Unknown"}: ${reason}`, lastCheck: now() };
      } finally {
        m.probing = undefined;
      }
    })();
    return m.probing;
  }

  async function probe(): Promise<void> {
    await Promise.all([...members.values()].map(probeOne));
    resolveFirst();
  }

  return {
    async setDynamic(specs) {
      const wanted = new Map(specs.map((s) => [s.address, s]));
      for (const [addr, m] of members) {
        if (m.source !== "file") continue;
        const next = wanted.get(addr);
        // Changed options (token, strict) need a fresh client.
        if (!next || next.bearerToken !== m.spec.bearerToken) {
          members.delete(addr);
          m.client.close();
        } else if ((next.strict === true) !== m.status.strict) {
          m.spec = next;
          m.status = { ...m.status, strict: next.strict === true };
        }
      }
      const fresh: Member[] = [];
      for (const s of specs) if (!members.has(s.address)) fresh.push(add(s, "file"));
      await Promise.all(fresh.map(probeOne));
    },
    probe,
    start() {
      if (timer !== undefined || closed) return;
      void probe();
      timer = setInterval(() => void probe(), intervalMs);
      // Do not keep a process alive just for probing (Node/Deno expose unref on timers).
      (timer as unknown as { unref?: () => void }).unref?.();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
    stores() {
      const out: Endpoint[] = [];
      for (const m of members.values()) {
        const usable = m.status.strict || (m.status.health === "healthy" && m.status.hasStoreApi);
        if (usable) out.push({ address: m.spec.address, client: m.client, status: m.status });
      }
      return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    },
    statuses() {
      return [...members.values()].map((m) => m.status).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    },
    firstProbe,
    close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      for (const m of members.values()) m.client.close();
      members.clear();
      resolveFirst();
    },
  };
}
