/**
 * `/api/v1/stores` as Thanos answers it: endpoints grouped by component type, each with its last
 * check, last error, external label sets and time range, so users (and the UI's Stores page) can see
 * which stores a query would reach and which are down.
 */
import { labelsToRecord } from "../../model/labels.ts";
import type { EndpointStatus } from "../endpoint-set.ts";
import { encodeSuccess } from "./encode-json.ts";

/** One endpoint as `/api/v1/stores` lists it. */
export interface StoreStatusJson {
  name: string;
  protocol: string;
  health: string;
  lastCheck: string | null;
  lastError: string | null;
  labelSets: Record<string, string>[];
  minTime: number;
  maxTime: number;
}

const INT64_MIN_MS = -9223372036854775808;
const INT64_MAX_MS = 9223372036854775807;

function finiteTime(ms: number, fallback: number): number {
  return Number.isFinite(ms) ? ms : fallback;
}

/** Groups statuses by component type (`unknown` before the first successful probe). */
export function storesByComponent(statuses: readonly EndpointStatus[]): Record<string, StoreStatusJson[]> {
  const out: Record<string, StoreStatusJson[]> = {};
  for (const s of statuses) {
    const type = s.componentType || "unknown";
    (out[type] ??= []).push({
      name: s.address,
      protocol: s.protocol,
      health: s.health,
      lastCheck: s.lastCheck === null ? null : new Date(s.lastCheck).toISOString(),
      lastError: s.lastError,
      labelSets: s.labelSets.map(labelsToRecord),
      minTime: finiteTime(s.minTime, INT64_MIN_MS),
      maxTime: finiteTime(s.maxTime, INT64_MAX_MS),
    });
  }
  return out;
}

/** The full JSON body of `/api/v1/stores`. */
export function encodeStoresData(statuses: readonly EndpointStatus[]): string {
  return encodeSuccess(JSON.stringify(storesByComponent(statuses)));
}
