/**
 * Endpoint lists for the querier: `--endpoint` flag values and the `--endpoint.sd-config-file`
 * YAML. The file may be Thanos' shape (`endpoints: [{address, strict}]`), a plain YAML list of
 * addresses or objects, or Prometheus file_sd style (`- targets: [...]`), so existing configs work.
 * Parsing lives here (runtime-neutral); watching the file is the runtime adapter's job.
 */
import { parse as parseYaml } from "yaml";
import { parseEndpointAddress } from "./store-client.ts";

/** One configured endpoint. */
export interface EndpointSpec {
  /** `host:port` (gRPC) or an http(s) URL (Connect). */
  readonly address: string;
  /** Always queried, even when its Info probe fails (Thanos `strict`). */
  readonly strict?: boolean;
  /** Bearer token sent to this endpoint (overrides the querier-wide one). */
  readonly bearerToken?: string;
}

/** Error in an endpoint configuration, naming the source and the entry. */
export class EndpointConfigError extends Error {
  override name = "EndpointConfigError";
}

function entry(raw: unknown, where: string, source: string): EndpointSpec[] {
  if (typeof raw === "string") return [validated({ address: raw }, where, source)];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new EndpointConfigError(`${source}: ${where}: want an address string or an object with "address", got ${JSON.stringify(raw)}`);
  }
  const o = raw as Record<string, unknown>;
  const known = new Set(["address", "strict", "bearer_token", "targets", "labels", "group", "client_config", "service_config"]);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new EndpointConfigError(`${source}: ${where}: unknown field ${JSON.stringify(k)}`);
  }
  if (o.group === true) throw new EndpointConfigError(`${source}: ${where}: "group" endpoints (DNS round-robin) are not supported`);
  if (o.strict !== undefined && typeof o.strict !== "boolean") throw new EndpointConfigError(`${source}: ${where}: "strict" must be true or false`);
  if (o.bearer_token !== undefined && typeof o.bearer_token !== "string") throw new EndpointConfigError(`${source}: ${where}: "bearer_token" must be a string`);
  const extra = {
    ...(o.strict !== undefined ? { strict: o.strict as boolean } : {}),
    ...(o.bearer_token !== undefined ? { bearerToken: o.bearer_token as string } : {}),
  };
  if (o.targets !== undefined) {
    // Prometheus file_sd: { targets: [...], labels: {...} } (labels are ignored; Info tells them).
    if (!Array.isArray(o.targets) || !o.targets.every((t) => typeof t === "string")) {
      throw new EndpointConfigError(`${source}: ${where}: "targets" must be a list of addresses`);
    }
    return (o.targets as string[]).map((t, i) => validated({ address: t, ...extra }, `${where}.targets[${i}]`, source));
  }
  if (typeof o.address !== "string") throw new EndpointConfigError(`${source}: ${where}: missing "address"`);
  return [validated({ address: o.address, ...extra }, where, source)];
}

function validated(spec: EndpointSpec, where: string, source: string): EndpointSpec {
  try {
    parseEndpointAddress(spec.address);
  } catch (err) {
    throw new EndpointConfigError(`${source}: ${where}: ${(err as Error).message}`);
  }
  return { ...spec, address: spec.address.trim() };
}

/**
 * Parses an endpoint SD file. Duplicate addresses are merged (strict if any entry is strict).
 * Throws {@link EndpointConfigError} naming `source` and the offending entry.
 */
export function parseEndpointSdConfig(text: string, source = "endpoint SD config"): EndpointSpec[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new EndpointConfigError(`${source}: invalid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return [];
  let list: unknown[];
  let prefix: string;
  if (Array.isArray(doc)) {
    list = doc;
    prefix = "";
  } else if (typeof doc === "object") {
    const o = doc as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      if (k !== "endpoints" && k !== "default_client_config") throw new EndpointConfigError(`${source}: unknown top-level field ${JSON.stringify(k)}`);
    }
    if (o.endpoints === undefined || o.endpoints === null) return [];
    if (!Array.isArray(o.endpoints)) throw new EndpointConfigError(`${source}: "endpoints" must be a list`);
    list = o.endpoints;
    prefix = "endpoints";
  } else {
    throw new EndpointConfigError(`${source}: want a list of endpoints or an object with "endpoints"`);
  }
  const out = list.flatMap((raw, i) => entry(raw, `${prefix}[${i}]`, source));
  return dedupeSpecs(out);
}

/** Validates `--endpoint` flag values (each an address). */
export function endpointSpecsFromFlags(values: readonly string[]): EndpointSpec[] {
  return dedupeSpecs(values.map((v, i) => validated({ address: v }, `--endpoint[${i}]`, "flags")));
}

/** Merges entries with the same address (strict wins, first token wins). */
export function dedupeSpecs(specs: readonly EndpointSpec[]): EndpointSpec[] {
  const by = new Map<string, EndpointSpec>();
  for (const s of specs) {
    const prev = by.get(s.address);
    if (!prev) by.set(s.address, s);
    else by.set(s.address, { ...prev, ...(s.strict || prev.strict ? { strict: true } : {}), ...(prev.bearerToken === undefined && s.bearerToken !== undefined ? { bearerToken: s.bearerToken } : {}) });
  }
  return [...by.values()];
}
