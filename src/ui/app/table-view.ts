/** The table of an instant query: one row per series (or the scalar/string value), as Prometheus' UI. */
import type { QueryData } from "./api-client.ts";
import { el, formatMetric } from "./format.ts";

/** Renders `data` into `host` (replacing its content). */
export function renderTable(host: HTMLElement, data: QueryData): void {
  host.replaceChildren();
  const table = el("table", "result-table");
  const add = (label: string, value: string) => {
    const tr = el("tr");
    tr.append(el("td", "metric", label), el("td", "value", value));
    table.append(tr);
  };
  switch (data.resultType) {
    case "vector":
      for (const s of data.result) add(formatMetric(s.metric), s.value[1]);
      break;
    case "matrix":
      for (const s of data.result) add(formatMetric(s.metric), s.values.map(([t, v]) => `${v} @${t}`).join("\n"));
      break;
    case "scalar":
    case "string":
      add(data.resultType, data.result[1]);
      break;
  }
  if (table.rows.length === 0) host.append(el("div", "empty", "Empty query result"));
  else host.append(table);
  host.dataset["rowCount"] = String(table.rows.length);
}
