/** The Stores page: every endpoint the querier knows, by component type, with health, labels and time range. */
import { fetchStores } from "./api-client.ts";
import { el, formatMetric, formatTimeMs } from "./format.ts";

/** Loads `/api/v1/stores` and renders it into `host`. */
export async function renderStoresPage(host: HTMLElement): Promise<void> {
  host.replaceChildren(el("p", "loading", "Loading stores…"));
  let groups;
  try {
    groups = await fetchStores();
  } catch (err) {
    host.replaceChildren(el("div", "error", err instanceof Error ? err.message : String(err)));
    return;
  }
  host.replaceChildren();
  const types = Object.keys(groups).sort();
  if (types.length === 0) host.append(el("div", "empty", "No endpoints configured."));
  for (const type of types) {
    const section = el("section", "store-group");
    section.dataset["component"] = type;
    section.append(el("h2", "", type));
    const table = el("table", "stores-table");
    const head = el("tr");
    for (const h of ["Endpoint", "Health", "Labels", "Min time", "Max time", "Last check", "Last error"]) head.append(el("th", "", h));
    table.append(head);
    for (const s of groups[type]!) {
      const tr = el("tr", `store-row health-${s.health}`);
      const labels = el("td", "labels");
      for (const set of s.labelSets) labels.append(el("div", "label-set", formatMetric(set)));
      tr.append(
        el("td", "name", `${s.name} (${s.protocol})`),
        el("td", "health", s.health),
        labels,
        el("td", "", formatTimeMs(s.minTime)),
        el("td", "", formatTimeMs(s.maxTime)),
        el("td", "", s.lastCheck ?? "never"),
        el("td", "error-text", s.lastError ?? ""),
      );
      table.append(tr);
    }
    section.append(table);
    host.append(section);
  }
}
